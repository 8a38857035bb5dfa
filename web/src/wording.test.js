import { describe, expect, it } from "vitest";
import { fileSize, otherFileAction } from "./wording.js";
import { API_RULES } from "./testing.js";

describe("sizes in words, decimal units as the API says them", () => {
  it("words sizes as surroundyou_jobs.wording.file_size does", () => {
    expect(fileSize(0)).toBe("1 KB");
    expect(fileSize(999)).toBe("1 KB");
    expect(fileSize(1536)).toBe("2 KB");
    expect(fileSize(80_400)).toBe("80 KB");
    expect(fileSize(999_999)).toBe("1000 KB");
    expect(fileSize(1_000_000)).toBe("1.0 MB");
    expect(fileSize(4_404_019)).toBe("4.4 MB");
    expect(fileSize(9_999_999)).toBe("10.0 MB");
    expect(fileSize(10_000_000)).toBe("10 MB");
    expect(fileSize(200_000_000)).toBe("200 MB");
    expect(fileSize(209_715_200)).toBe("210 MB"); // the old page's "200 MB" (binary) limit
  });

  it("rounds as Python does: exact ties to even, the rest by the binary value", () => {
    expect(fileSize(2_500)).toBe("2 KB");
    expect(fileSize(3_500)).toBe("4 KB");
    expect(fileSize(1_250_000)).toBe("1.2 MB"); // 1.25 is exact: to even
    expect(fileSize(1_750_000)).toBe("1.8 MB");
    expect(fileSize(1_450_000)).toBe("1.4 MB"); // 1.45 is stored as 1.4499...
    expect(fileSize(1_350_000)).toBe("1.4 MB"); // 1.35 is stored as 1.3500...
    expect(fileSize(10_500_000)).toBe("10 MB");
    expect(fileSize(11_500_000)).toBe("12 MB");
  });

  it("names the formats the API reads when the file is the problem", () => {
    expect(otherFileAction(API_RULES.inputFormats)).toBe("Choose another song (MP3, WAV, FLAC, OGG or M4A) and try again.");
  });
});
