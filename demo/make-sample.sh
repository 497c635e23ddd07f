#!/usr/bin/env bash
# Makes demo/sample/: 6 s of HLS (master playlist, 240p and 360p renditions, 2 s MPEG-TS
# segments) from ffmpeg's built-in test pattern and tone. Run once; the output is committed.
# Needs ffmpeg (Debian: apt-get install ffmpeg).
set -euo pipefail
cd "$(dirname "$0")"
rm -rf sample && mkdir -p sample/240p sample/360p
for rendition in "240p 426x240 250k" "360p 640x360 500k"; do
  set -- $rendition
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=$2:rate=25:duration=6" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=6" \
    -c:v libx264 -preset veryfast -profile:v main -b:v "$3" -maxrate "$3" -bufsize "$3" \
    -g 50 -keyint_min 50 -sc_threshold 0 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -ac 1 \
    -f hls -hls_time 2 -hls_playlist_type vod -hls_flags independent_segments \
    -hls_segment_filename "sample/$1/seg-%d.ts" "sample/$1/index.m3u8"
done
cat > sample/master.m3u8 <<'M3U8'
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=380000,RESOLUTION=426x240,CODECS="avc1.4d401e,mp4a.40.2"
240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=650000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"
360p/index.m3u8
M3U8
du -sh sample
