#!/usr/bin/env bash
# An audio-only ffmpeg for the task image: container/image/ffmpeg.sh CACHE_DIR -> prints the binary's path.
#
# The engine pipes M4A/AAC, Opus, WebM and multichannel files through an ffmpeg binary (pedalboard
# reads MP3/WAV/FLAC/OGG/AIFF itself). imageio-ffmpeg's binary carries every video codec: 165 MB.
# This one is built from Debian's ffmpeg source package (Debian testing's: ffmpeg 5.1 and 7.1 leave an
# AAC encoder's end padding in the decoded audio, which newer ones trim as imageio-ffmpeg's does)
# with only what the engine asks of ffmpeg:
# probing (`ffmpeg -i`) and decoding the first audio stream of those containers to 32-bit float PCM
# on a pipe, with downmixing (`-ac`) and resampling (`-ar`): ~3 MB. The image points
# imageio-ffmpeg at it (IMAGEIO_FFMPEG_EXE) and drops the big binary (container/image/prune.py).
#
# It is compiled on this machine (gcc, static libgcc, linked to the system's glibc): build on the
# image's architecture, with a glibc no newer than the base image's (Debian 12's 2.36 runs on 13).
# The source comes through apt's ordinary source download (deb-src of the Debian archive this machine
# already uses, suite $SUITE), in a private apt state under CACHE_DIR; cached by its version and the
# configure flags.
set -euo pipefail
SUITE=${FFMPEG_SUITE:-testing}
cache=$(realpath "$1")
mkdir -p "$cache"

DECODERS=aac,aac_latm,aac_fixed,alac,opus,libopus,vorbis,mp1,mp2,mp3,mp3float,flac,wavpack,pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_f32le,pcm_f64le,pcm_u8,pcm_alaw,pcm_mulaw,ac3,eac3
DEMUXERS=mov,matroska,ogg,mp3,aac,flac,wav,w64,aiff,caf,wv,ac3,eac3,loas,latm
PARSERS=aac,aac_latm,opus,vorbis,mpegaudio,flac,ac3
CONFIGURE=(
    --disable-everything --disable-autodetect --disable-doc --disable-debug --disable-network
    --disable-ffplay --disable-ffprobe --disable-avdevice --disable-swscale
    --disable-x86asm --disable-shared --enable-static --enable-small
    --enable-protocol=file,pipe --enable-decoder=${DECODERS//libopus,/} --enable-demuxer=$DEMUXERS
    --enable-parser=$PARSERS --enable-encoder=pcm_f32le --enable-muxer=pcm_f32le
    --enable-filter=aresample,aformat,anull,atrim,pan --enable-swresample
    --extra-ldflags=-static-libgcc
)

apt_options=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$cache/apt/sources"
    -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache" -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1")
source_dir=$cache/ffmpeg-source-$SUITE
if ! ls "$source_dir"/ffmpeg_*.orig.tar.* >/dev/null 2>&1; then
    rm -rf "$cache/apt"
    mkdir -p "$cache/apt/sources" "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" "$source_dir"
    # the first stanza of the system's Debian sources (the main archive), as deb-src of $SUITE
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed -e '/^$/q' -e 's/^Types: .*/Types: deb-src/' -e "s/^Suites: .*/Suites: $SUITE/" \
            /etc/apt/sources.list.d/debian.sources > "$cache/apt/sources/debian-src.sources"
    else
        sed -n "0,/^deb /s/^deb \(\[[^]]*\] \)\?\(\S*\) \S*\(.*\)/deb-src \1\2 $SUITE\3/p" /etc/apt/sources.list \
            > "$cache/apt/sources/debian-src.list"
    fi
    echo "[make image] downloading Debian's ffmpeg source ($SUITE)" >&2
    apt-get "${apt_options[@]}" -qq update >&2
    # only the upstream tarball is used: a mirror that lags on the Debian parts (.dsc) is fine
    (cd "$source_dir" && apt-get "${apt_options[@]}" -qq source --download-only ffmpeg >"$cache/ffmpeg-source.log" 2>&1) \
        || ls "$source_dir"/ffmpeg_*.orig.tar.* >/dev/null 2>&1 || { cat "$cache/ffmpeg-source.log" >&2; exit 1; }
fi
tarball=$(ls "$source_dir"/ffmpeg_*.orig.tar.* | head -1)
binary=$cache/bin-ffmpeg-$(printf '%s %s %s' "${tarball##*/}" "$(uname -m)" "${CONFIGURE[*]}" | sha256sum | cut -c1-12)
if [ ! -x "$binary" ]; then
    work=$(mktemp -d "$cache/ffmpeg-build.XXXXXX")
    echo "[make image] building an audio-only ffmpeg from ${tarball##*/} (a few minutes, once)" >&2
    tar -xf "$tarball" -C "$work" --strip-components=1
    (cd "$work" && ./configure "${CONFIGURE[@]}" >"$cache/ffmpeg-configure.log" 2>&1 \
        && make -j"$(nproc)" ffmpeg >"$cache/ffmpeg-make.log" 2>&1) \
        || { tail -20 "$cache"/ffmpeg-*.log >&2; exit 1; }
    strip -o "$binary.part" "$work/ffmpeg"
    mv "$binary.part" "$binary"
    rm -rf "$work"
fi
echo "$binary"
