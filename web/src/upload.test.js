import { describe, expect, it } from "vitest";
import { checkFileBeforeUpload, parseS3Error, uploadFile } from "./upload.js";
import { CONFIG, song, thrownBy } from "./testing.js";

describe("checking a file before upload", () => {
  it("refuses a file over the API's limit before sending anything, with both sizes", () => {
    const error = thrownBy(() => checkFileBeforeUpload(song(3_500_000, "long.wav", "audio/wav"), { ...CONFIG, maxUploadBytes: 2_000_000 }));
    expect(error.kind).toBe("too-large");
    expect(error.message).toBe('"long.wav" is 3.5 MB; the limit is 2.0 MB.');
    expect(error.action).toMatch(/smaller file/);
  });

  it("counts in the API's decimal units: 200 MB is 200,000,000 bytes", () => {
    const sized = (size) => ({ name: "live.wav", size, type: "audio/wav" }); // all the check reads of a File
    // 204,472,320 bytes is the "195 MB" the old page (binary units) let through and the API refused
    const error = thrownBy(() => checkFileBeforeUpload(sized(204_472_320), CONFIG));
    expect(error.kind).toBe("too-large");
    expect(error.message).toBe('"live.wav" is 204 MB; the limit is 200 MB.');
    expect(thrownBy(() => checkFileBeforeUpload(sized(200_000_001), CONFIG)).message).toBe('"live.wav" is 200 MB; the limit is 200 MB.');
    for (const size of [199_999_999, 200_000_000, 195_000_000]) {
      const ok = sized(size);
      expect(checkFileBeforeUpload(ok, CONFIG)).toBe(ok);
    }
  });

  it("refuses an empty file and lets a normal one through", () => {
    const empty = thrownBy(() => checkFileBeforeUpload(song(0), CONFIG));
    expect(empty.message).toMatch(/is empty/);
    expect(empty.action).toBe("Choose another song (MP3, WAV, FLAC, OGG or M4A) and try again.");
    const ok = song(100);
    expect(checkFileBeforeUpload(ok, { ...CONFIG, maxUploadBytes: 100 })).toBe(ok);
  });
});

/** Enough of XMLHttpRequest for uploadFile: records what was sent, lets the test fire events. */
class FakeXhr {
  constructor() {
    this.listeners = {};
    this.upload = { listeners: {}, addEventListener: (type, fn) => (this.upload.listeners[type] = fn) };
    this.status = 0;
    this.responseText = "";
    this.aborted = false;
  }
  addEventListener(type, fn) {
    this.listeners[type] = fn;
  }
  open(method, url) {
    this.method = method;
    this.url = url;
  }
  send(body) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    this.listeners.abort?.();
  }
  progress(loaded, total) {
    this.upload.listeners.progress({ lengthComputable: true, loaded, total });
  }
  respond(status, responseText = "") {
    this.status = status;
    this.responseText = responseText;
    this.listeners.load();
  }
}

describe("uploadFile", () => {
  const upload = {
    url: "http://127.0.0.1:9000/surroundyou-media",
    fields: { key: "uploads/abc/source.mp3", "Content-Type": "audio/mpeg", policy: "eyJ...", "x-amz-signature": "f00" },
  };

  function startUpload(file, options = {}) {
    const xhr = new FakeXhr();
    const progress = [];
    const done = uploadFile(upload, file, { xhrFactory: () => xhr, onProgress: (p) => progress.push(p), ...options });
    return { xhr, progress, done };
  }

  it("posts every presigned field in order, then the file last", async () => {
    const file = song(4000);
    const { xhr, done } = startUpload(file);
    xhr.respond(204);
    await done;
    expect(xhr.method).toBe("POST");
    expect(xhr.url).toBe(upload.url);
    const entries = [...xhr.body.entries()];
    expect(entries.map(([name]) => name)).toEqual(["key", "Content-Type", "policy", "x-amz-signature", "file"]);
    expect(entries[1][1]).toBe("audio/mpeg");
    expect(entries[4][1].name).toBe("My Song.mp3");
    expect(entries[4][1].size).toBe(4000);
  });

  it("reports the bytes sent, scaled from the multipart body to the file's size", async () => {
    const { xhr, progress, done } = startUpload(song(4000));
    // the multipart body is the file plus ~1000 bytes of fields and boundaries
    xhr.progress(1250, 5000);
    xhr.progress(5000, 5000);
    xhr.respond(204);
    await done;
    expect(progress).toEqual([
      { loadedBytes: 1000, totalBytes: 4000 },
      { loadedBytes: 4000, totalBytes: 4000 },
      { loadedBytes: 4000, totalBytes: 4000 },
    ]);
  });

  it("turns S3's EntityTooLarge refusal into a readable message", async () => {
    const { xhr, done } = startUpload(song());
    xhr.respond(
      400,
      `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message><ProposedSize>300000000</ProposedSize><MaxSizeAllowed>200000000</MaxSizeAllowed><RequestId>4442587FB7D0A2F9</RequestId></Error>`,
    );
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("too-large");
    expect(error.code).toBe("EntityTooLarge");
    expect(error.status).toBe(400);
    expect(error.message).toBe("The file is larger than SurroundYou accepts, so the upload was refused.");
    expect(error.action).toMatch(/smaller file/);
  });

  it("explains an expired upload link", async () => {
    const { xhr, done } = startUpload(song());
    xhr.respond(403, "<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>");
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("upload-refused");
    expect(error.message).toBe("The upload link expired before the upload finished.");
  });

  it("quotes any other refusal's code and message", async () => {
    const { xhr, done } = startUpload(song());
    xhr.respond(403, "<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy Condition failed</Message></Error>");
    const error = await done.catch((e) => e);
    expect(error.message).toBe("The storage refused the upload (AccessDenied: Invalid according to Policy: Policy Condition failed).");
  });

  it("tells a storage failure (5xx) from a refusal", async () => {
    const { xhr, done } = startUpload(song());
    xhr.respond(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("server");
    expect(error.message).toBe("The storage had a problem receiving the song (SlowDown: Please reduce your request rate.).");
    expect(error.action).toBe("Wait a moment, then press Try again.");
  });

  it("reports a dropped connection as a network error", async () => {
    const { xhr, done } = startUpload(song());
    xhr.listeners.error();
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("network");
    expect(error.message).toBe("Could not reach SurroundYou while uploading the song.");
  });

  it("stops the upload when the signal aborts", async () => {
    const controller = new AbortController();
    const { xhr, done } = startUpload(song(), { signal: controller.signal });
    controller.abort();
    const error = await done.catch((e) => e);
    expect(xhr.aborted).toBe(true);
    expect(error.name).toBe("AbortError");
  });

  it("parses S3 error XML, and gives nulls for anything else", () => {
    expect(parseS3Error("<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>")).toEqual({
      code: "SlowDown",
      message: "Reduce your request rate.",
    });
    expect(parseS3Error("")).toEqual({ code: null, message: null });
  });
});
