"""What an audio file's header promises, read in pure Python (struct + mutagen): shared by the
validate Lambda (which has no numpy) and the engine, so both judge a file the same way."""
