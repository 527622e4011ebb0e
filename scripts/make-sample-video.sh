#!/usr/bin/env bash
# Makes the 30 s sample clip shipped for demos and the browser tests: the time and frame number burned in, a bar
# that sweeps once a second, and a short beep on every whole second, so two screens (or two speakers) show sync.
# Needs Debian's ffmpeg and fonts-dejavu-core. The output is committed; run this only to change the clip.
set -euo pipefail
out="$(dirname "$0")/../watchparty/web/static/sample/countdown.webm"
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "color=c=0x1d2330:s=640x360:r=24:d=30" \
  -f lavfi -i "color=c=0xf5b942:s=40x24:r=24:d=30" \
  -f lavfi -i "aevalsrc='0.15*sin(2*PI*880*t)*lt(mod(t\,1)\,0.08)':s=48000:d=30" \
  -filter_complex "[0:v][1:v]overlay=x='mod(t,1)*600':y=300,\
drawtext=fontfile=$font:text='%{pts\:hms}':fontsize=64:fontcolor=white:x=(w-tw)/2:y=90,\
drawtext=fontfile=$font:text='frame %{frame_num}':fontsize=28:fontcolor=0xb8c2d9:x=(w-tw)/2:y=180,\
drawtext=fontfile=$font:text='WatchParty sample':fontsize=20:fontcolor=0x8a94ab:x=20:y=20[v]" \
  -map "[v]" -map 2:a \
  -c:v libvpx-vp9 -b:v 150k -deadline good -cpu-used 4 -row-mt 1 -g 24 -pix_fmt yuv420p \
  -c:a libopus -b:a 32k -ac 1 \
  "$out"
ls -l "$out"
