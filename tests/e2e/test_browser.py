"""The web app in real Chromium against the local stack, used as a person uses it.

Chromium is Debian's (/usr/bin/chromium, installed by `make chromium`), driven by Playwright's
Python API; no `playwright install`. Every stage is saved as a screenshot under
artifacts/screenshots/ so a person can look at what the page showed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from browser_client import get_config
from pedalboard.io import AudioFile
from playwright.sync_api import Browser, Page, expect, sync_playwright

from surroundyou.engine.analysis import measure_orbit
from surroundyou.engine.orbit import Orbit
from surroundyou.engine.render import render
from surroundyou.job_options import render_options_for
from surroundyou_jobs.wording import file_size

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flag Chromium keeps calling home, and this machine refuses it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
SAMPLE_RATE = 44100
SONG_S = 14.0
# The effect fades in over the preset's first seconds and out over its last (fadeInS, fadeOutS:
# 3 s); the orbit is measured between the fades: two whole turns, so measure_orbit finds the
# period without a hint.
MEASURED_S = (3.0, 11.0)
PRESET = "fast"
# Slow enough that the upload's progress is seen between 0 and 100 %: the song is ~190 KB.
UPLOAD_BYTES_PER_S = 48 * 1024
RENDER_TIMEOUT_MS = 180_000
# Whether the page asks before it is left: a beforeunload listener that cancels the event.
LEAVING_IS_QUESTIONED = """() => {
    const leaving = new Event("beforeunload", { cancelable: true });
    window.dispatchEvent(leaving);
    return leaving.defaultPrevented;
}"""
WAVETABLE_POINTS = 4096


def music_like_stereo(duration_s: float, sample_rate: int) -> np.ndarray:
    """A short song stand-in, shape (2, frames): four chords of band-limited sawtooths (partials up
    to 10 kHz, where the ears' level cues live), a kick every beat and hi-hats every half beat, the
    two channels a little different as in a real mix. Peak -3 dBFS."""
    rng = np.random.default_rng(8)
    frames = int(duration_s * sample_rate)
    chords_hz = [(220.0, 277.18, 329.63), (196.0, 246.94, 293.66), (174.61, 220.0, 261.63), (196.0, 246.94, 293.66)]
    stereo = np.zeros((2, frames))
    bounds = np.linspace(0, frames, len(chords_hz) + 1).astype(int)
    table_phase = np.arange(WAVETABLE_POINTS + 1) / WAVETABLE_POINTS  # one period, closed
    for chord, start, stop in zip(chords_hz, bounds[:-1], bounds[1:], strict=True):
        t_s = np.arange(start, stop) / sample_rate
        for voice, f0_hz in enumerate(chord):
            harmonics = np.arange(1, int(10_000 / f0_hz) + 1)[:, np.newaxis]
            sawtooth = (np.sin(2 * np.pi * harmonics * table_phase) / harmonics).sum(axis=0)
            # the right channel's voices are detuned a little: a mix, not dual mono
            for channel, detune in enumerate((1.0, 1.002)):
                phase = (f0_hz * detune * t_s + channel * voice / 7) % 1.0
                stereo[channel, start:stop] += np.interp(phase, table_phase, sawtooth)
    t_s = np.arange(frames) / sample_rate
    beat_s = 0.5
    since_beat_s = t_s % beat_s
    kick = np.sin(2 * np.pi * 55.0 * since_beat_s) * np.exp(-since_beat_s / 0.08)
    hats = np.diff(rng.standard_normal(frames + 1)) * np.exp(-(t_s % (beat_s / 2)) / 0.03)
    stereo += 4 * kick
    stereo[0] += 0.8 * hats
    stereo[1] += 0.8 * np.roll(hats, 17)
    return (stereo / np.abs(stereo).max() * 10 ** (-3 / 20)).astype(np.float32)


def write_song(path: Path, duration_s: float = SONG_S) -> Path:
    with AudioFile(str(path), "w", SAMPLE_RATE, 2, quality="192k") as song:
        song.write(music_like_stereo(duration_s, SAMPLE_RATE))
    return path


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    with AudioFile(str(path)) as audio:
        return audio.read(audio.frames), audio.samplerate


def shoot(page: Page, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


# WCAG 2.1 contrast ratio of every visible text run against the background painted under it
# (ancestors' backgrounds composited; each CSS colour read back as sRGB through a 1-pixel canvas).
TEXT_CONTRASTS_JS = """() => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 1, height: 1 });
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const rgba = (css) => {
        ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = css; ctx.fillRect(0, 0, 1, 1);
        const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
        return [r, g, b, a / 255];
    };
    const over = (top, below) => [0, 1, 2].map(i => top[i] * top[3] + below[i] * (1 - top[3])).concat(1);
    const backgroundOf = (element) => {
        const chain = [];
        for (let e = element; e; e = e.parentElement) chain.unshift(e);
        return chain.reduce((below, e) => over(rgba(getComputedStyle(e).backgroundColor), below), [255, 255, 255, 1]);
    };
    const luminance = (rgb) => rgb.slice(0, 3).map(v => v / 255)
        .map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const results = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const element = node.parentElement;
        if (!node.textContent.trim() || !element.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
        if (element.closest(':disabled, [aria-hidden=true], .sr-only')) continue;  // WCAG exempts disabled controls
        const background = backgroundOf(element);
        const [high, low] = [luminance(over(rgba(getComputedStyle(element).color), background)), luminance(background)]
            .sort((a, b) => b - a);
        results.push({ text: node.textContent.trim().slice(0, 40), ratio: (high + 0.05) / (low + 0.05) });
    }
    return results;
}"""
WCAG_AA_TEXT_CONTRAST = 4.5


def assert_text_contrast_aa(page: Page) -> None:
    contrasts = page.evaluate(TEXT_CONTRASTS_JS)
    assert contrasts, "no text measured"
    low = [c for c in contrasts if c["ratio"] < WCAG_AA_TEXT_CONTRAST]
    assert not low, low


def orbit_drawing(page: Page) -> dict:
    """What the orbit figure draws: its path, seconds per turn, the view (radius, tilt), each
    source's route as drawn ([(x, y), ...]) and the duration of each source's motion (None when it
    does not move)."""
    return page.locator("figure svg").evaluate(
        """svg => ({
            path: svg.dataset.path,
            periodS: Number(svg.dataset.periodS),
            radius: Number(svg.dataset.radius),
            tiltDeg: Number(svg.dataset.viewTiltDeg),
            routes: Object.fromEntries([...svg.querySelectorAll('[data-source]')].map(g => [
                g.dataset.source,
                g.querySelector('polyline').getAttribute('points').split(' ').map(p => p.split(',').map(Number)),
            ])),
            motions: [...svg.querySelectorAll('[data-source]')].map(g => g.querySelector('animateMotion')?.getAttribute('dur') ?? null),
        })"""
    )


def api_jobs(page: Page) -> list[dict]:
    """Every job the page creates, with each status its polls saw and the last view:
    [{"jobId", "statuses": [(status, progress), ...], "view": {...}}]."""
    jobs: list[dict] = []

    def record(response):
        if response.request.method == "POST" and response.url.endswith("/api/jobs") and response.status == 201:
            jobs.append({"jobId": response.json()["jobId"], "statuses": [], "view": None})
        elif response.request.method == "GET" and "/api/jobs/" in response.url and response.ok:
            view = response.json()
            for job in jobs:
                if job["jobId"] == view["jobId"]:
                    job["statuses"].append((view["status"], view["progress"]))
                    job["view"] = view

    page.on("response", record)
    return jobs


@pytest.fixture(scope="module")
def browser() -> Browser:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_app(browser: Browser, base_url: str, **context_options) -> tuple[Page, dict]:
    """A fresh browser context on the app, once it shows what the API's GET /config says;
    returns (page, that config)."""
    context = browser.new_context(accept_downloads=True, **context_options)
    page = context.new_page()
    page.goto(base_url.rstrip("/") + "/")
    config = get_config(base_url)
    # the radio group lists exactly the API's presets, the API's default picked
    for preset in config["presets"]:
        expect(preset_radio(page, preset["name"])).to_be_visible()
    expect(page.get_by_role("radio")).to_have_count(len(config["presets"]))
    expect(preset_radio(page, config["defaults"]["preset"])).to_be_checked()
    # the file picker offers the API's formats and names its limit, in the API's words
    formats = config["inputFormats"]
    accept = [f".{f['extension']}" for f in formats] + [t for f in formats for t in f["contentTypes"]]
    assert page.get_by_label("Choose a song").get_attribute("accept") == ",".join(dict.fromkeys(accept))
    expect(page.locator("#song-hint")).to_contain_text(f"up to {file_size(config['maxUploadBytes'])}")
    for fmt in formats:
        expect(page.locator("#song-hint")).to_contain_text(fmt["extension"].upper())
    return page, config


def preset_radio(page: Page, name: str):
    return page.get_by_role("radio", name=re.compile(rf"^{name}\b", re.I))


def test_a_song_becomes_8d_audio_that_plays_and_downloads(local_stack, browser, tmp_path):
    song = write_song(tmp_path / "Evening Walk.mp3")
    page, config = open_app(browser, local_stack, viewport={"width": 1280, "height": 900})
    presets = {preset["name"]: preset for preset in config["presets"]}
    jobs = api_jobs(page)
    assert_text_contrast_aa(page)
    shoot(page, "01-start")

    page.get_by_label("Choose a song").set_input_files(song)
    expect(page.get_by_text("Evening Walk.mp3")).to_be_visible()
    # the orbit drawn follows the preset picked: its period and direction
    for name in ("concert", PRESET):
        preset_radio(page, name).check()
        period_s, direction = presets[name]["periodS"], presets[name]["direction"]
        expect(page.locator("figure figcaption")).to_contain_text(f"one turn every {period_s:g} seconds")
        expect(page.locator("figure figcaption")).to_contain_text(direction.replace("counterc", "counter-c"))
        drawing = orbit_drawing(page)
        assert drawing["motions"] == [f"{period_s:g}s"] * 2, drawing["motions"]
    shoot(page, "02-song-chosen")

    # Throttle the upload (Chrome's network emulation) so its progress can be seen part-way.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": UPLOAD_BYTES_PER_S},
    )
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("heading", name="Uploading your song")).to_be_visible()
    page.wait_for_function("""() => {
        const bar = document.querySelector('[role=progressbar]');
        const percent = bar && Number(bar.getAttribute('aria-valuenow'));
        return percent > 0 && percent < 100;
    }""")
    expect(page.get_by_text(re.compile(r"KB of [\d.]+ KB sent"))).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\d+% · Uploading your song – SurroundYou$"))  # seen from another tab
    assert page.evaluate(LEAVING_IS_QUESTIONED) is True  # leaving now would lose the upload
    shoot(page, "03-uploading")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    expect(
        page.get_by_role("heading", name=re.compile("Checking your song|Waiting for a free worker|Making it 8D"))
    ).to_be_visible()
    assert page.evaluate(LEAVING_IS_QUESTIONED) is False  # a reload now picks the render up again
    shoot(page, "04-converting")

    download_link = page.get_by_role("link", name="Download")
    expect(download_link).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert page.evaluate(LEAVING_IS_QUESTIONED) is False
    expect(page).to_have_title("Ready – SurroundYou")
    assert_text_contrast_aa(page)
    shoot(page, "05-ready")
    statuses = [status for status, _ in jobs[0]["statuses"]]
    progress = [percent for _, percent in jobs[0]["statuses"]]
    assert statuses[-1] == "READY" and statuses.count("READY") == 1, statuses  # polling stopped at READY
    assert progress == sorted(progress), progress

    # Both players load: the original from the chosen file, the 8D one from the download URL.
    for player in ("Original", "8D version"):
        page.wait_for_function(
            "label => { const a = document.querySelector(`audio[aria-label='${label}']`);"
            " return a && a.readyState >= 1 && a.duration > 0; }",
            arg=player,
        )
    durations_s = page.evaluate("() => [...document.querySelectorAll('audio')].map(a => a.duration)")
    assert durations_s == pytest.approx([SONG_S, SONG_S], abs=0.1)

    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename == "Evening Walk.8d.mp3"
    assert jobs[0]["view"]["result"]["outputKey"] == f"processed/{jobs[0]['jobId']}/Evening Walk.8d.mp3"
    result_path = tmp_path / download.suggested_filename
    download.save_as(result_path)

    result, sample_rate = read_audio(result_path)
    original, _ = read_audio(song)
    assert result.shape[0] == 2 and sample_rate == SAMPLE_RATE
    assert presets[PRESET]["fadeInS"] <= MEASURED_S[0] and presets[PRESET]["fadeOutS"] <= SONG_S - MEASURED_S[1]
    between_fades = slice(*(int(t_s * sample_rate) for t_s in MEASURED_S))
    orbit = measure_orbit(result[:, between_fades], sample_rate)
    # What the preset's orbit gives on this very song: the engine's dry render (no reverb, no limiter).
    dry = render(original, sample_rate, render_options_for({"preset": PRESET}))
    reference = measure_orbit(dry[:, between_fades], sample_rate)
    still = measure_orbit(original[:, between_fades], sample_rate)
    assert orbit.period_s == pytest.approx(presets[PRESET]["periodS"], rel=0.05), orbit.summary()
    # (measured: ILD 9.2 dB vs the dry render's 9.3 dB, ITD 0.70 ms vs 0.70 ms; reverb may shave a little)
    assert orbit.ild_r2 > 0.8 and orbit.itd_r2 > 0.8, orbit.summary()
    assert orbit.ild_amplitude_db == pytest.approx(reference.ild_amplitude_db, abs=1.5), (
        orbit.summary(),
        reference.summary(),
    )
    assert orbit.itd_amplitude_ms == pytest.approx(reference.itd_amplitude_ms, abs=0.1), (
        orbit.summary(),
        reference.summary(),
    )
    assert still.ild_amplitude_db < 1.0, still.summary()  # the song itself does not move


def test_a_text_file_named_mp3_tells_what_went_wrong_and_can_try_again(local_stack, browser, tmp_path):
    # A phone-sized screen, used with the keyboard alone, by a person who asked for less motion;
    # the file arrives by drag and drop.
    page, _ = open_app(
        browser,
        local_stack,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",
    )
    assert orbit_drawing(page)["motions"] == [None, None]  # the sources rest; their routes stay drawn
    jobs = api_jobs(page)
    page.evaluate("window.sameDocument = true")  # gone if anything reloads the page
    shoot(page, "06-phone-start")

    dropped = page.evaluate_handle(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["Dear diary, today I wrote a text file.\\n".repeat(200)],
                                        "notes.mp3", { type: "audio/mpeg" }));
            transfer.items.add(new File(["and another"], "more notes.mp3", { type: "audio/mpeg" }));
            return transfer;
        }"""
    )
    page.dispatch_event("main", "dragenter", {"dataTransfer": dropped})
    expect(page.get_by_text("Drop the song to choose it")).to_be_visible()
    shoot(page, "07-phone-dropping", full_page=False)  # the hint covers the screen, not the page
    page.dispatch_event("main", "drop", {"dataTransfer": dropped})
    expect(page.get_by_text("Drop the song to choose it")).to_be_hidden()
    # two dropped: the first is chosen, and the page says so
    expect(page.locator("#song-hint")).to_have_text(
        re.compile(r"^notes\.mp3 · .* – one song at a time: the first of the 2 files you dropped\.$")
    )

    # Keyboard only: Tab to the file input, Tab into the presets, arrow to the next, Tab to Convert.
    def focused() -> str:
        return page.evaluate("(e => e.id || e.name || e.textContent.trim())(document.activeElement)")

    page.keyboard.press("Tab")
    assert focused() == "song"
    page.keyboard.press("Tab")
    assert focused() == "preset"
    page.keyboard.press("ArrowDown")
    expect(preset_radio(page, "slow")).to_be_checked()
    shoot(page, "08-phone-keyboard-focus", full_page=False)
    # then every control beyond the presets, in reading order, then the two buttons
    for control in ("path", "speed", "sync", "strength", "fade-in", "fade-out", "room", "head", "preview", "convert"):
        page.keyboard.press("Tab")
        assert focused() == control
    page.keyboard.press("Enter")

    alert = page.get_by_role("alert")
    expect(alert).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    job = page.request.get(f"{local_stack.rstrip('/')}/api/jobs/{jobs[0]['jobId']}").json()
    assert job["status"] == "FAILED"
    expect(alert).to_contain_text(job["error"]["message"])  # what went wrong, in the server's words
    expect(alert).to_contain_text("Choose another song")  # and what to do
    assert focused() == "error-title"  # focus lands on the outcome
    assert_text_contrast_aa(page)
    shoot(page, "09-phone-error")

    page.keyboard.press("Tab")
    assert focused() == "Try again"
    page.keyboard.press("Enter")
    expect(alert).to_be_hidden()
    assert focused() == "song"  # back at the file input, ready for another song
    expect(page.get_by_role("button", name="Convert")).to_be_enabled()
    assert page.evaluate("window.sameDocument") is True
    shoot(page, "10-phone-after-try-again")


def test_samples_that_are_not_numbers_are_converted_as_silence_and_the_page_says_how_many(
    local_stack, browser, tmp_path
):
    audio = music_like_stereo(4.0, SAMPLE_RATE)
    audio[:, 10_000:10_300] = np.nan  # a float WAV can hold them; 600 channel samples
    song = tmp_path / "Broken Float.wav"
    with AudioFile(str(song), "w", SAMPLE_RATE, 2, bit_depth=32) as out:
        out.write(audio)
    page, _ = open_app(browser, local_stack, viewport={"width": 1280, "height": 900})

    page.get_by_label("Choose a song").set_input_files(song)
    page.get_by_role("button", name="Convert").click()

    expect(page.get_by_role("heading", name="Your 8D song is ready")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.get_by_text("Your file had 600 samples that were not numbers (NaN or infinite)")).to_be_visible()
    assert_text_contrast_aa(page)
    shoot(page, "15-repaired-samples")


def test_a_reload_picks_the_conversion_up_again_until_another_song_is_chosen(local_stack, browser, tmp_path):
    """Reloaded (or closed and opened again) while the song renders, the page follows the same job
    to its result, which a second reload still shows; choosing another song leaves it behind."""
    song = write_song(tmp_path / "Night Drive.mp3", duration_s=8.0)
    page, _ = open_app(browser, local_stack)
    page.clock.install()  # time flows, and can be moved on an hour below
    jobs = api_jobs(page)
    page.get_by_label("Choose a song").set_input_files(song)
    page.get_by_role("button", name="Convert").click()
    expect(
        page.get_by_role("heading", name=re.compile("Checking your song|Waiting for a free worker|Making it 8D"))
    ).to_be_visible()
    polls_before = len(jobs[0]["statuses"])
    page.reload()

    download_link = page.get_by_role("link", name="Download")
    expect(download_link).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    # the same job, followed again to READY: no new one was made
    assert len(jobs) == 1 and len(jobs[0]["statuses"]) > polls_before, jobs
    assert jobs[0]["statuses"][-1][0] == "READY", jobs
    expect(page.get_by_text("converted before the page was reloaded")).to_contain_text("Night Drive.mp3")
    expect(page.get_by_role("radio", name="Original")).to_be_disabled()  # no original to compare with
    expect(page.get_by_role("radio", name="8D version")).to_be_checked()
    page.wait_for_function("() => document.querySelector(\"audio[aria-label='8D version']\").duration > 0")
    assert_text_contrast_aa(page)
    shoot(page, "11-picked-up-after-reload")
    # left open for most of an hour: the link, which expires after one, is renewed; the player keeps its own
    first_link, player_src = download_link.get_attribute("href"), page.locator("audio").last.get_attribute("src")
    page.wait_for_timeout(1100)  # a link signed a second later differs (its X-Amz-Date)
    page.clock.fast_forward((jobs[0]["view"]["download"]["expiresIn"] - 60) * 1000)  # a minute before it expires
    expect(download_link).not_to_have_attribute("href", first_link)
    assert page.locator("audio").last.get_attribute("src") == player_src
    assert len(jobs[0]["statuses"]) > polls_before + 1 and jobs[0]["statuses"][-1][0] == "READY"
    with page.expect_download() as download_info:
        download_link.click()
    assert download_info.value.suggested_filename == "Night Drive.8d.mp3"

    page.reload()  # the result stays until the person moves on
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    page.get_by_label("Choose a song").set_input_files(song)  # the same song again: the original to compare
    expect(page.get_by_role("radio", name="Original")).to_be_enabled()
    expect(page.get_by_text("converted before the page was reloaded")).to_have_count(0)
    page.wait_for_function("() => [...document.querySelectorAll('audio')].every(a => a.duration > 0)")
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    page.get_by_label("Choose a song").set_input_files(write_song(tmp_path / "Another.mp3", duration_s=2.0))
    expect(page.get_by_role("link", name="Download")).to_be_hidden()
    page.reload()
    expect(page.get_by_role("button", name="Convert")).to_be_disabled()  # no song chosen, nothing picked up
    expect(page.get_by_role("heading", name=re.compile("ready|Checking|Making"))).to_have_count(0)
    assert page.evaluate("localStorage.length") == 0

    # a job the API no longer knows (expired after RetentionDays) is forgotten without a word
    page.evaluate(
        """() => localStorage.setItem("surroundyou.lastJob",
               JSON.stringify({ jobId: "0".repeat(32), filename: "Old.mp3", preview: false }))"""
    )
    with page.expect_response(lambda response: response.url.endswith("/api/jobs/" + "0" * 32)) as gone:
        page.reload()
    assert gone.value.status == 404
    page.wait_for_function("() => localStorage.length === 0")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("ready|Checking|Making"))).to_have_count(0)


def test_a_conversion_the_page_lost_touch_with_is_followed_again(local_stack, browser, tmp_path):
    """The network drops while the song renders: the page says so, and Try again follows the same
    job to its result (it had to be converted again), the original still there to compare."""
    page, _ = open_app(browser, local_stack)
    page.clock.install()
    jobs = api_jobs(page)
    page.get_by_label("Choose a song").set_input_files(write_song(tmp_path / "Tunnel.mp3", duration_s=4.0))
    page.get_by_role("button", name="Convert").click()
    expect(
        page.get_by_role("heading", name=re.compile("Checking your song|Waiting for a free worker|Making it 8D"))
    ).to_be_visible()
    page.context.set_offline(True)
    alert = page.get_by_role("alert")
    for _ in range(10):  # the polls back off: move time on until they give up
        if alert.is_visible():
            break
        page.clock.fast_forward(5000)
        page.wait_for_timeout(100)
    expect(alert).to_contain_text("Could not reach SurroundYou")
    shoot(page, "12-lost-touch")
    page.context.set_offline(False)
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("link", name="Download")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert len(jobs) == 1 and jobs[0]["statuses"][-1][0] == "READY", jobs  # the same job, no second upload
    expect(page.get_by_role("radio", name="Original")).to_be_enabled()


def test_a_file_over_the_apis_limit_is_refused_before_it_is_sent(local_stack, browser):
    # The limit is the API's (GET /config), in its decimal units: a file 4 % over it (still under
    # the limit counted in binary MiB, which the page once used) is refused on the page in the words
    # the API would use, and nothing is sent.
    page, config = open_app(browser, local_stack, viewport={"width": 1280, "height": 900})
    jobs = api_jobs(page)
    limit = config["maxUploadBytes"]
    size = limit + limit // 25
    assert size < limit / 1_000_000 * 2**20
    page.get_by_label("Choose a song").set_input_files(
        {"name": "long.wav", "mimeType": "audio/wav", "buffer": bytes(size)}
    )
    page.get_by_role("button", name="Convert").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f'"long.wav" is {file_size(size)}; the limit is {file_size(limit)}.')
    expect(alert).to_contain_text("Choose a smaller file")
    shoot(page, "11-too-large")
    assert jobs == []


def test_the_page_says_so_when_the_api_cannot_be_reached_and_tries_again(local_stack, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    context.route("**/api/config", lambda route: route.abort("connectionrefused"))
    page.goto(local_stack)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Could not reach the SurroundYou server (/api/config) to load its settings.")
    expect(alert).to_contain_text("Check your internet connection")
    assert_text_contrast_aa(page)
    shoot(page, "12-api-unreachable")

    context.unroute("**/api/config")
    alert.get_by_role("button", name="Try again").click()
    expect(alert).to_be_hidden()
    expect(page.get_by_role("radio")).to_have_count(len(get_config(local_stack)["presets"]))
    context.close()


def test_the_orbit_drawn_is_the_engines_path(local_stack, browser):
    # Each path the API offers, drawn as the engine moves the sources: the route of each channel's
    # source is the engine's Orbit (engine/orbit.py) at the same turns, seen as the figure says.
    page, config = open_app(browser, local_stack, viewport={"width": 1280, "height": 900})
    preset = next(p for p in config["presets"] if p["name"] == config["defaults"]["preset"])
    for path in config["paths"]:
        page.get_by_label("Path").select_option(path["name"])
        expect(page.locator("#path-hint")).to_have_text(path["description"])
        drawing = orbit_drawing(page)
        assert drawing["path"] == path["name"]
        for source, offset_deg in (("left", -preset["widthDeg"] / 2), ("right", preset["widthDeg"] / 2)):
            drawn = np.array(drawing["routes"][source])
            turns = np.linspace(0, 20 if path["name"] == "wander" else 1, len(drawn))
            samples_per_turn = 96
            orbit = Orbit(
                period_s=1.0,
                sample_rate=samples_per_turn,
                clockwise=preset["direction"] == "clockwise",
                elevation_wobble_deg=preset["elevationWobbleDeg"],
                path=path["name"],
            )
            azimuth, elevation = orbit.direction_rad(turns * samples_per_turn)
            azimuth = azimuth + np.radians(offset_deg)
            radius, tilt = drawing["radius"], np.radians(drawing["tiltDeg"])
            x = radius * np.cos(elevation) * np.sin(azimuth)
            y = -radius * (np.cos(elevation) * np.cos(azimuth) * np.sin(tilt) + np.sin(elevation) * np.cos(tilt))
            # the page writes two decimals
            assert np.abs(drawn - np.column_stack([x, y])).max() < 0.006, (path["name"], source)
    shoot(page, "13-orbit-overhead-path")


def song_with_a_quiet_intro(path: Path, duration_s: float, intro_s: float) -> Path:
    """The music-like song (a kick every 0.5 s: 120 BPM) with its first intro_s 20 dB quieter, so
    its loudest 30 s are known: the last 30 s."""
    stereo = music_like_stereo(duration_s, SAMPLE_RATE)
    stereo[:, : int(intro_s * SAMPLE_RATE)] *= 0.1
    with AudioFile(str(path), "w", SAMPLE_RATE, 2, quality="192k") as song:
        song.write(stereo)
    return path


PLAYER_STATE_JS = """() => {
    const [original, processed] = ['Original', '8D version'].map(
        label => document.querySelector(`audio[aria-label='${label}']`));
    return {original: original.currentTime, processed: processed.currentTime,
            originalVolume: original.volume, processedVolume: processed.volume,
            playing: !processed.paused && !original.paused, clock: performance.now() / 1000};
}"""
# how far the heard position may move at a switch beyond the time that passed (the two versions
# are kept within 50 ms of each other; a seek in an MP3 lands within a frame, 26 ms)
SWITCH_JUMP_S = 0.1


def test_a_beat_synced_preview_plays_and_switches_to_the_original_at_the_same_place(local_stack, browser, tmp_path):
    # 40 s at 120 BPM, quiet for its first 12 s: the preview is its last 30 s; with beat sync and
    # 8 beats per turn the orbit turns every 4 s (the preset alone would take 8 s), at 80 % strength.
    song = song_with_a_quiet_intro(tmp_path / "Night Drive.mp3", duration_s=40.0, intro_s=12.0)
    page, config = open_app(browser, local_stack, viewport={"width": 1280, "height": 900})
    jobs = api_jobs(page)
    preset_radio(page, "classic").check()
    page.get_by_label("Choose a song").set_input_files(song)
    page.get_by_label("Follow the beat").check()
    page.get_by_label("Beats per turn").fill("8")
    page.get_by_label("Strength").fill("0.8")
    expect(page.locator("#strength-hint")).to_contain_text("80 %")
    expect(page.locator("figure figcaption")).to_contain_text("one turn every 8 beats of the song")
    assert orbit_drawing(page)["motions"] == ["4s", "4s"]  # drawn at 120 BPM
    page.get_by_role("button", name=f"Preview {config['previewS']:g} s").click()
    expect(page.get_by_role("heading", name="Your preview is ready")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert_text_contrast_aa(page)
    shoot(page, "14-preview-ready")

    # a job like any other, with its options as the page sent them
    view = jobs[0]["view"]
    assert view["options"] == {
        "preset": "classic",
        "format": config["defaults"]["format"],
        "mode": config["defaults"]["mode"],
        "sync": "beats",
        "beatsPerTurn": 8,
        "intensity": 0.8,
        "preview": True,
    }
    assert [status for status, _ in jobs[0]["statuses"]][-1] == "READY"
    assert view["result"]["durationS"] == pytest.approx(config["previewS"], abs=0.1)
    assert view["result"]["previewStartS"] == pytest.approx(10.0, abs=0.15)  # the last 30 s: the loudest
    assert view["result"]["outputKey"].endswith(".preview.8d.mp3")  # named as the command line names a preview
    assert page.get_by_role("link", name="Download").count() == 0  # a preview is for listening

    # the preview's orbit follows the beat: one turn per 8 beats of 0.5 s
    preview = tmp_path / "preview.mp3"
    preview.write_bytes(page.request.get(view["download"]["url"]).body())
    result, sample_rate = read_audio(preview)
    orbit = measure_orbit(result, sample_rate)
    assert orbit.period_s == pytest.approx(4.0, rel=0.02), orbit.summary()

    # One player: both versions play in step, the 8D one heard; switching keeps the place, the
    # original running previewStartS ahead (the preview's place in the song).
    offset_s = view["result"]["previewStartS"]
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => document.querySelector(`audio[aria-label='8D version']`).currentTime > 1.5")

    def heard_position(state: dict, side: str) -> float:
        return state["original"] - offset_s if side == "original" else state["processed"]

    was_heard = "processed"
    for side, heard in (("Original", "original"), ("8D version", "processed")):
        before = page.evaluate(PLAYER_STATE_JS)
        # the switch is a radio pair drawn as two buttons: a person clicks the visible label
        page.locator("fieldset", has_text="Listen to").locator("label", has_text=side).click()
        expect(page.get_by_role("radio", name=side)).to_be_checked()
        after = page.evaluate(PLAYER_STATE_JS)
        assert after["playing"], after
        # the place is kept: the newly heard version goes on from where the other was
        elapsed_s = after["clock"] - before["clock"]
        jump_s = heard_position(after, heard) - heard_position(before, was_heard) - elapsed_s
        assert abs(jump_s) < SWITCH_JUMP_S, (before, after)
        assert heard_position(after, heard) > 1.5, after  # not back at the start
        silent = "processed" if heard == "original" else "original"
        assert after[f"{heard}Volume"] > 0.5 and after[f"{silent}Volume"] == 0, after
        shoot(page, f"15-preview-hearing-{heard}")
        page.wait_for_function(
            f"() => document.querySelector(`audio[aria-label='8D version']`).currentTime > {after['processed'] + 0.5}"
        )
        was_heard = heard
    page.get_by_role("button", name="Pause").click()
