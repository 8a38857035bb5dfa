"""What an audio file's header promises, read in pure Python (struct + mutagen): shared by the
validate Lambda (which has no numpy) and the engine, so both judge a file the same way."""

# The shortest song converted: the limiter fades a song in and out over its first and last 2 ms, so
# a shorter one would come out nearly silent (a 1.5 ms song 29 dB quieter, 4.5 ms 3 dB; 10 ms 1.1 dB).
SHORTEST_SONG_S = 0.01
