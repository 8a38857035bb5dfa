/**
 * What the API's `inputFormats` ([{extension, contentTypes}], from GET /config) mean for the page:
 * the file picker's accept list, the formats named to a person, the content type to announce.
 */

function extensionOf(filename) {
  const dot = filename.lastIndexOf(".");
  return dot < 0 ? "" : filename.slice(dot + 1).toLowerCase();
}

/** The file picker's `accept` attribute: every extension (".mp3") and content type the API reads. */
export function acceptAttribute(inputFormats) {
  const extensions = inputFormats.map((format) => `.${format.extension}`);
  const contentTypes = inputFormats.flatMap((format) => format.contentTypes);
  return [...new Set([...extensions, ...contentTypes])].join(",");
}

/** The formats in words: "MP3, WAV or FLAC". */
export function formatNames(inputFormats) {
  const names = inputFormats.map((format) => format.extension.toUpperCase());
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

/** The content type to announce for a file: the browser's, else the API's first for its extension. */
export function contentTypeOf(file, inputFormats) {
  const format = inputFormats.find((candidate) => candidate.extension === extensionOf(file.name));
  return file.type || format?.contentTypes[0] || "application/octet-stream";
}
