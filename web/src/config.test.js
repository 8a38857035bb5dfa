import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { ConversionError } from "./errors.js";
import { API_RULES, jsonResponse, scriptedFetch } from "./testing.js";

describe("loadConfig", () => {
  it("reads the API's URL from config.json, then the rules from GET {api}/config", async () => {
    const { fetchFn, calls } = scriptedFetch([
      jsonResponse(200, { apiBaseUrl: "https://api.example.test/prod/" }),
      jsonResponse(200, API_RULES),
    ]);
    const config = await loadConfig({ fetchFn });
    expect(config).toEqual({ ...API_RULES, apiBaseUrl: "https://api.example.test/prod/" });
    expect(calls.map((call) => call.url)).toEqual(["config.json", "https://api.example.test/prod/config"]);
  });

  it("takes the presets, their camelCase parameters and the defaults from the API", async () => {
    const { fetchFn } = scriptedFetch([jsonResponse(200, { apiBaseUrl: "/api" }), jsonResponse(200, API_RULES)]);
    const config = await loadConfig({ fetchFn });
    expect(config.presets.map((preset) => preset.name)).toEqual(["classic", "fast"]);
    expect(config.presets[1]).toMatchObject({ periodS: 4, widthDeg: 50, elevationWobbleDeg: 0 });
    expect(config.defaults).toEqual({ preset: "classic", format: "mp3", mode: "spherical" });
    expect(config.fileErrorCodes).toEqual(["InvalidUpload", "DecodeFailed"]);
    // the controls beyond presets: heads by name, paths, rooms, the numbers' bounds, the preview's length
    expect(config.heads.map((head) => [head.mode, head.name])).toEqual([
      ["spherical", "Modelled head"],
      ["hrtf", "Measured head (MIT KEMAR)"],
    ]);
    expect(config.paths.map((path) => path.name)).toEqual(["circle", "figure8", "wander", "overhead", "arc"]);
    expect(config.optionRanges.beatsPerTurn).toMatchObject({ min: 2, max: 64 });
    expect(config.previewS).toBe(30);
  });

  it("takes the upload limit from the API, never from config.json", async () => {
    const { fetchFn } = scriptedFetch([
      jsonResponse(200, { apiBaseUrl: "/api", maxUploadBytes: 209_715_200 }), // an old config.json
      jsonResponse(200, API_RULES),
    ]);
    expect((await loadConfig({ fetchFn })).maxUploadBytes).toBe(200_000_000);
  });

  it("explains a missing config.json", async () => {
    const { fetchFn } = scriptedFetch([new Response("<html>not found</html>", { status: 404 })]);
    const error = await loadConfig({ fetchFn }).catch((e) => e);
    expect(error).toBeInstanceOf(ConversionError);
    expect(error.kind).toBe("config");
    expect(error.message).toMatch(/config\.json/);
  });

  it("says plainly when the API cannot be reached", async () => {
    const { fetchFn } = scriptedFetch([jsonResponse(200, { apiBaseUrl: "/api" }), new TypeError("Failed to fetch")]);
    const error = await loadConfig({ fetchFn }).catch((e) => e);
    expect(error).toBeInstanceOf(ConversionError);
    expect(error.kind).toBe("network");
    expect(error.message).toBe("Could not reach the SurroundYou server (/api/config) to load its settings.");
    expect(error.action).toMatch(/internet connection/);
  });

  it("turns a server error into a message with the status", async () => {
    const { fetchFn } = scriptedFetch([jsonResponse(200, { apiBaseUrl: "/api" }), new Response("oops", { status: 502 })]);
    const error = await loadConfig({ fetchFn }).catch((e) => e);
    expect(error.kind).toBe("server");
    expect(error.message).toContain("HTTP 502");
  });

  it("refuses an API that does not serve /config, or serves it without what the page needs", async () => {
    const notServed = scriptedFetch([jsonResponse(200, { apiBaseUrl: "/api" }), jsonResponse(404, { error: { code: "NotFound" } })]);
    const old = await loadConfig({ fetchFn: notServed.fetchFn }).catch((e) => e);
    expect(old.kind).toBe("config");
    expect(old.message).toBe("The SurroundYou server did not send the settings this page needs (/api/config: HTTP 404).");

    const { fileErrorCodes, ...withoutCodes } = API_RULES;
    expect(fileErrorCodes).toHaveLength(2);
    for (const [rules, problem] of [
      [withoutCodes, "no fileErrorCodes"],
      [{ ...API_RULES, maxUploadBytes: "200 MB" }, "no maxUploadBytes"],
      [{ ...API_RULES, inputFormats: [] }, "no inputFormats"],
      [{ ...API_RULES, presets: [] }, "no presets"],
      [{ ...API_RULES, defaults: { preset: "missing", format: "mp3" } }, "no defaults"],
      [{ ...API_RULES, heads: [{ name: "KEMAR" }] }, "no heads"],
      [{ ...API_RULES, paths: undefined }, "no paths"],
      [{ ...API_RULES, rooms: [] }, "no rooms"],
      [{ ...API_RULES, optionRanges: { periodS: { min: 1, max: 120 } } }, "no optionRanges"],
      [{ ...API_RULES, previewS: "30 s" }, "no previewS"],
    ]) {
      const { fetchFn } = scriptedFetch([jsonResponse(200, { apiBaseUrl: "/api" }), jsonResponse(200, rules)]);
      const error = await loadConfig({ fetchFn }).catch((e) => e);
      expect(error.kind).toBe("config");
      expect(error.message).toContain(problem);
    }
  });
});
