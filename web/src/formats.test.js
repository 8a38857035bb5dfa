import { describe, expect, it } from "vitest";
import { acceptAttribute, contentTypeOf, formatNames } from "./formats.js";
import { API_RULES, song } from "./testing.js";

const FORMATS = API_RULES.inputFormats;

describe("the formats the API reads", () => {
  it("names the type from the extension when the browser gives none", () => {
    expect(contentTypeOf(song(1, "take.FLAC", ""), FORMATS)).toBe("audio/flac");
    expect(contentTypeOf(song(1, "take.m4a", ""), FORMATS)).toBe("audio/mp4");
    expect(contentTypeOf(song(1, "take.wav", "audio/x-wav"), FORMATS)).toBe("audio/x-wav");
    expect(contentTypeOf(song(1, "take.xyz", ""), FORMATS)).toBe("application/octet-stream");
  });

  it("offers the file picker every extension and content type the API lists, once each", () => {
    const accept = acceptAttribute([
      { extension: "mp3", contentTypes: ["audio/mpeg", "audio/mp3"] },
      { extension: "ogg", contentTypes: ["audio/ogg"] },
      { extension: "opus", contentTypes: ["audio/opus", "audio/ogg"] },
    ]);
    expect(accept).toBe(".mp3,.ogg,.opus,audio/mpeg,audio/mp3,audio/ogg,audio/opus");
  });

  it("names them for a person", () => {
    expect(formatNames(FORMATS)).toBe("MP3, WAV, FLAC, OGG or M4A");
    expect(formatNames([{ extension: "wav", contentTypes: [] }])).toBe("WAV");
  });
});
