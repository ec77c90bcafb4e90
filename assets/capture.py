#!/usr/bin/env python3
"""Regenerates the README screenshots, assets/topics.png and assets/partitions.png.

From the repository root, on Debian:

    apt-get install -y tmux fonts-dejavu-core
    pip install --target /tmp/pylib pillow        # for this script only, not a project dependency
    cargo build --release
    PYTHONPATH=/tmp/pylib python3 assets/capture.py

It runs target/release/strom in a private tmux server (its own socket) at 120x36 with fresh
XDG data/config/state dirs, so strom starts its bundled broker and the demo workload; after
~15 s of demo traffic it captures the topics pane and the partitions pane of device-heartbeat
with `tmux capture-pane -e -p` (text with ANSI colours), quits strom with `q`, and draws each
capture to a PNG with DejaVu Sans Mono. `--keep-ans` also writes the raw captures (*.ans).

    python3 assets/capture.py --render capture.ans out.png   # only render a saved capture
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata

COLS, ROWS = 120, 36
FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONT_SIZE = 15
LINE_HEIGHT = 19
PADDING = 12

# A dark terminal palette for the 16 ANSI colours, then the xterm 256-colour cube and greys.
DEFAULT_FG = (0xD4, 0xD4, 0xD4)
DEFAULT_BG = (0x1E, 0x1E, 0x1E)
ANSI16 = [
    (0x00, 0x00, 0x00), (0xCD, 0x31, 0x31), (0x0D, 0xBC, 0x79), (0xE5, 0xE5, 0x10),
    (0x24, 0x72, 0xC8), (0xBC, 0x3F, 0xBC), (0x11, 0xA8, 0xCD), (0xE5, 0xE5, 0xE5),
    (0x66, 0x66, 0x66), (0xF1, 0x4C, 0x4C), (0x23, 0xD1, 0x8B), (0xF5, 0xF5, 0x43),
    (0x3B, 0x8E, 0xEA), (0xD6, 0x70, 0xD6), (0x29, 0xB8, 0xDB), (0xFF, 0xFF, 0xFF),
]


def xterm256(n):
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + 10 * (n - 232)
    return (v, v, v)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None  # None: the terminal's default
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def copy(self):
        s = Style()
        s.__dict__.update(self.__dict__)
        return s

    def apply(self, params):
        """Applies one SGR sequence's parameters (as ints)."""
        i = 0
        if not params:
            params = [0]
        while i < len(params):
            p = params[i]
            if p == 0:
                self.reset()
            elif p == 1:
                self.bold = True
            elif p == 2:
                self.dim = True
            elif p == 3:
                self.italic = True
            elif p == 4:
                self.underline = True
            elif p == 7:
                self.reverse = True
            elif p == 22:
                self.bold = self.dim = False
            elif p == 23:
                self.italic = False
            elif p == 24:
                self.underline = False
            elif p == 27:
                self.reverse = False
            elif 30 <= p <= 37:
                self.fg = ANSI16[p - 30]
            elif 90 <= p <= 97:
                self.fg = ANSI16[p - 90 + 8]
            elif 40 <= p <= 47:
                self.bg = ANSI16[p - 40]
            elif 100 <= p <= 107:
                self.bg = ANSI16[p - 100 + 8]
            elif p == 39:
                self.fg = None
            elif p == 49:
                self.bg = None
            elif p in (38, 48) and i + 1 < len(params):
                if params[i + 1] == 5 and i + 2 < len(params):
                    colour = xterm256(params[i + 2])
                    i += 2
                elif params[i + 1] == 2 and i + 4 < len(params):
                    colour = tuple(params[i + 2:i + 5])
                    i += 4
                else:
                    colour = None
                    i += 1
                if p == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1

    def colours(self):
        fg = self.fg or DEFAULT_FG
        bg = self.bg or DEFAULT_BG
        if self.reverse:
            fg, bg = bg, fg
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
        return fg, bg


SGR = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|.)")


def cell_width(ch):
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(text, cols=COLS, rows=ROWS):
    """ANSI text -> rows of cells (char, Style); a wide char's second cell is None."""
    grid = []
    style = Style()
    for line in text.split("\n")[:rows]:
        row = []
        pos = 0
        while pos < len(line):
            if line[pos] == "\x1b":
                m = SGR.match(line, pos)
                if m:
                    style.apply([int(x) if x else 0 for x in re.split("[;:]", m.group(1))] if m.group(1) else [0])
                    pos = m.end()
                    continue
                m = OTHER_ESCAPE.match(line, pos)
                pos = m.end() if m else pos + 1
                continue
            ch = line[pos]
            pos += 1
            if unicodedata.category(ch) in ("Mn", "Me", "Cf") or ch == "\r":
                continue
            row.append((ch, style.copy()))
            if cell_width(ch) == 2:
                row.append(None)
        grid.append(row[:cols])
    while len(grid) < rows:
        grid.append([])
    return grid


def render(text, out_path):
    from PIL import Image, ImageDraw, ImageFont

    regular = ImageFont.truetype(os.path.join(FONT_DIR, "DejaVuSansMono.ttf"), FONT_SIZE)
    bold = ImageFont.truetype(os.path.join(FONT_DIR, "DejaVuSansMono-Bold.ttf"), FONT_SIZE)
    cw = round(regular.getlength("M"))
    grid = parse(text)
    width, height = COLS * cw + 2 * PADDING, ROWS * LINE_HEIGHT + 2 * PADDING
    img = Image.new("RGB", (width, height), DEFAULT_BG)
    draw = ImageDraw.Draw(img)
    ascent, _ = regular.getmetrics()
    baseline_offset = (LINE_HEIGHT - FONT_SIZE) // 2
    for y, row in enumerate(grid):
        top = PADDING + y * LINE_HEIGHT
        for x, cell in enumerate(row):
            if cell is None:
                continue
            ch, style = cell
            fg, bg = style.colours()
            w = cell_width(ch) * cw
            left = PADDING + x * cw
            if bg != DEFAULT_BG:
                draw.rectangle([left, top, left + w - 1, top + LINE_HEIGHT - 1], fill=bg)
            if ch == " ":
                continue
            if not draw_box(draw, ch, left, top, cw, LINE_HEIGHT, fg):
                font = bold if style.bold else regular
                draw.text((left, top + baseline_offset), ch, font=font, fill=fg)
            if style.underline:
                uy = top + baseline_offset + ascent + 1
                draw.line([left, uy, left + w - 1, uy], fill=fg)
    # Few colours: a palette PNG stays small and keeps the text crisp.
    img = img.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    img.save(out_path, optimize=True)
    return out_path


# Box-drawing characters drawn as lines so borders join across cells at any line height.
BOX = {
    "─": "lr", "│": "ud", "┌": "rd", "┐": "ld", "└": "ru", "┘": "lu",
    "├": "udr", "┤": "udl", "┬": "lrd", "┴": "lru", "┼": "udlr",
}


def draw_box(draw, ch, left, top, w, h, colour):
    arms = BOX.get(ch)
    if arms is None:
        return False
    cx, cy = left + w // 2, top + h // 2
    right, bottom = left + w - 1, top + h - 1
    for arm in arms:
        end = {"l": (left, cy), "r": (right, cy), "u": (cx, top), "d": (cx, bottom)}[arm]
        draw.line([(cx, cy), end], fill=colour)
    return True


class Tmux:
    def __init__(self, socket):
        self.socket = socket

    def __call__(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=check, capture_output=True, text=True).stdout

    def screen(self, ansi=False):
        return self("capture-pane", "-p", *(["-e"] if ansi else []), "-t", "shot")

    def wait_for(self, what, ok, timeout):
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if ok(screen):
                return screen
            if time.monotonic() > deadline:
                sys.exit(f"capture.py: no {what} after {timeout} s; last screen:\n{screen}")
            time.sleep(0.2)


def capture(strom, out_dir, settle, keep_ans):
    if not shutil.which("tmux"):
        sys.exit("capture.py: tmux is not installed (apt-get install tmux)")
    home = tempfile.mkdtemp(prefix="strom-shot-")
    tmux = Tmux(f"strom-shot-{os.getpid()}")
    env = " ".join(f"{k}={shlex.quote(os.path.join(home, d))}" for k, d in [("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state")])
    try:
        tmux("new-session", "-d", "-s", "shot", "-x", str(COLS), "-y", str(ROWS), f"{env} {shlex.quote(strom)}; sleep 60")
        tmux.wait_for("demo topics", lambda s: "Topics (4)" in s and "parties" in s, 20)
        # Demo traffic for a while, so records, sizes and lag have grown.
        time.sleep(settle)
        tmux.wait_for("sizes on disk", lambda s: "KiB" in s, 20)
        shots = {"topics": tmux.screen(ansi=True)}
        tmux("send-keys", "-t", "shot", "j", "Enter")
        tmux.wait_for("partitions pane", lambda s: "Partitions of device-heartbeat" in s and "KiB" in s, 10)
        shots["partitions"] = tmux.screen(ansi=True)
        tmux("send-keys", "-t", "shot", "q")
        tmux.wait_for("shell after quitting", lambda s: "Topics" not in s, 20)
    finally:
        tmux("kill-server", check=False)
        shutil.rmtree(home, ignore_errors=True)
    for name, text in shots.items():
        if keep_ans:
            with open(os.path.join(out_dir, f"{name}.ans"), "w") as f:
                f.write(text)
        print(render(text, os.path.join(out_dir, f"{name}.png")))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strom", default=os.path.join(here, "..", "target", "release", "strom"))
    ap.add_argument("--out", default=here, help="directory for the PNGs (default: assets/)")
    ap.add_argument("--settle", type=float, default=15, help="seconds of demo traffic before capturing")
    ap.add_argument("--keep-ans", action="store_true", help="also write the raw ANSI captures")
    ap.add_argument("--render", nargs=2, metavar=("IN", "OUT"), help="only render a saved capture")
    args = ap.parse_args()
    if args.render:
        with open(args.render[0]) as f:
            print(render(f.read(), args.render[1]))
        return
    capture(os.path.abspath(args.strom), args.out, args.settle, args.keep_ans)


if __name__ == "__main__":
    main()
