#!/usr/bin/env python3
"""check_render.py - judges html_render.sh's Chromium output for the
html-export page (TAP on stdout, exit 1 on any failure). Standard library
only: the PNG is decoded here with zlib.

  check_render.py PAGE DIR

DIR holds html_render.sh's results: shot.png, and dom-page.html,
dom-hover.html (after a mouseover on token 22), dom-blocked.html (the page
with script-src 'none'), each with its .rc and .log.

The screenshot must be 1200x900, show every probability colour of the page's
own palette (read from its CSS) over a fair area, and dark text; the DOM
dumped after load must hold what the page's script builds (the data-ready
marker, the layer/head options, the candidate table, the heatmap cells),
which proves the script ran under the page's Content-Security-Policy; a
hover must shade the token's attention window onto the transcript; a copy
whose policy forbids scripts must not run them (the policy is in force);
and the embedded JSON must parse.
"""
import html.parser
import json
import re
import struct
import sys
import zlib

TOLERANCE = 6  # per channel, for anti-aliasing and colour rounding
MIN_PIXELS = 150  # per palette colour: a legend swatch alone is ~144


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)
        return cond

    def diag(self, text):
        for line in str(text).splitlines()[-15:]:
            print("# " + line)

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


def png_decode(data):
    """(width, height, channels, rows) of an 8-bit, non-interlaced RGB/RGBA
    PNG; rows is a list of bytes, one per scanline, filters undone."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if ihdr is None:
        raise ValueError("no IHDR")
    width, height, depth, colour, _, _, interlace = ihdr
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError("unsupported PNG: depth %d colour type %d interlace %d"
                         % (depth, colour, interlace))
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise ValueError("IDAT holds %d bytes, expected %d" % (len(raw), height * (stride + 1)))
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        bpp = channels
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif kind != 0:
            raise ValueError("bad filter %d on row %d" % (kind, y))
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


class DomScan(html.parser.HTMLParser):
    """Counts what the inspector's script creates in the dumped DOM."""

    def __init__(self):
        super().__init__()
        self.ready = False
        self.cells = 0
        self.options = []
        self.chosen_rows = 0
        self.tables = 0
        self.in_option = False
        self.shaded = 0
        self.attn_mode = False
        self.shown_text = None
        self.in_big = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body" and a.get("data-ready") == "1":
            self.ready = True
        if tag == "span" and "cell" in classes:
            self.cells += 1
        if tag == "tr" and "chosen" in classes:
            self.chosen_rows += 1
        if tag == "table":
            self.tables += 1
        if tag == "span" and "t" in classes and "rgba(37, 99, 235" in (a.get("style") or ""):
            self.shaded += 1
        if tag == "div" and a.get("id") == "transcript" and "attn" in classes:
            self.attn_mode = True
        if tag == "span" and "big" in classes:
            self.in_big = True
            self.shown_text = ""
        if tag == "option":
            self.in_option = True
            self.options.append("")

    def handle_endtag(self, tag):
        if tag == "option":
            self.in_option = False
        if tag == "span":
            self.in_big = False

    def handle_data(self, data):
        if self.in_big:
            self.shown_text += data
        if self.in_option:
            self.options[-1] += data


def main(argv):
    tap = Tap()
    page_path, out = argv[1], argv[2]
    shot_path = out + "/shot.png"

    def rc_of(name):
        try:
            with open("%s/%s.rc" % (out, name)) as f:
                return int(f.read().strip() or "-1")
        except (OSError, ValueError):
            return -1

    def log(name):
        try:
            with open("%s/%s.log" % (out, name), errors="replace") as f:
                tap.diag(f.read())
        except OSError as e:
            tap.diag(e)

    def dom_of(name):
        try:
            with open("%s/%s.html" % (out, name), "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            tap.diag(e)
            text = ""
        if not tap.ok(rc_of(name) == 0 and "<body" in text,
                      "chromium dumped the DOM of %s (rc %d)" % (name, rc_of(name))):
            log(name)
        scan = DomScan()
        scan.feed(text)
        return scan

    with open(page_path, "rb") as f:
        page = f.read().decode("utf-8")

    # The palette, from the page's own CSS: .p0{background:#rrggbb} ...
    palette = [(int(m.group(1)), tuple(int(m.group(2)[i:i + 2], 16) for i in (0, 2, 4)))
               for m in re.finditer(r"\.p(\d)\{background:#([0-9a-f]{6})\}", page)]
    tap.ok(len(palette) == 6, "the page's CSS has six probability colours (%d)" % len(palette))

    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    data = None
    try:
        data = json.loads(m.group(1)) if m else None
    except ValueError as e:
        tap.diag(e)
    tap.ok(data is not None and len(data.get("tokens", [])) == 23 and data.get("attn") == "head",
           "the data block parses: 23 tokens, per-head attention")

    # The screenshot.
    shot = None
    try:
        with open(shot_path, "rb") as f:
            shot = png_decode(f.read())
    except (OSError, ValueError, zlib.error) as e:
        tap.diag(e)
    if not tap.ok(rc_of("shot") == 0 and shot is not None,
                  "chromium wrote a PNG screenshot (rc %d)" % rc_of("shot")):
        log("shot")
    if shot is not None:
        width, height, channels, rows = shot
        tap.ok((width, height) == (1200, 900), "the screenshot is 1200x900 (%dx%d)"
               % (width, height))
        exact = {}
        dark = 0
        for line in rows:
            for x in range(0, len(line), channels):
                r, g, b = line[x], line[x + 1], line[x + 2]
                key = (r, g, b)
                exact[key] = exact.get(key, 0) + 1
        for (r, g, b), n in exact.items():
            if 0.299 * r + 0.587 * g + 0.114 * b < 100:
                dark += n
        for bin_no, colour in palette:
            near = sum(n for c, n in exact.items()
                       if all(abs(c[i] - colour[i]) <= TOLERANCE for i in range(3)))
            tap.ok(near >= MIN_PIXELS, "probability colour p%d #%02x%02x%02x covers %d pixels"
                   % ((bin_no,) + colour + (near,)))
        top = max(exact.values()) if exact else 0
        tap.ok(dark >= 2000, "dark, text-like pixels: %d" % dark)
        tap.ok(len(exact) >= 50 and top < 0.9 * width * height,
               "not blank: %d distinct colours, the commonest covers %.0f%%"
               % (len(exact), 100.0 * top / max(1, width * height)))

    # The DOM after the page's script ran.
    scan = dom_of("dom-page")
    tap.ok(scan.ready, "the script ran under the CSP: <body data-ready=\"1\">")
    tap.ok("mean of heads" in scan.options and "layer 1" in scan.options and "head 2" in scan.options,
           "the layer and head selectors were filled: %s" % ", ".join(scan.options))
    tap.ok(scan.tables >= 1 and scan.chosen_rows == 1,
           "the first sampled token's candidate table, chosen row marked")
    # The first sampled token is session index 7: 8 keys, one cell each.
    tap.ok(scan.cells == 8, "its attention row: 8 heatmap cells (%d)" % scan.cells)
    tap.ok(not scan.attn_mode and scan.shaded == 0, "before a hover the transcript shows probabilities")

    # Hovering token 22 (the cut character's tail, U+FFFD): its 20-key window
    # (tokens 3..22) shaded, the inspector on it.
    hover = dom_of("dom-hover")
    tap.ok(hover.attn_mode and hover.shaded == 20,
           "hovering token 22 shades its 20 keys onto the transcript (%d)" % hover.shaded)
    tap.ok(hover.cells == 20 and hover.shown_text == "\ufffd",
           "and the inspector shows it: %r with 20 cells (%d)" % (hover.shown_text, hover.cells))

    blocked = dom_of("dom-blocked")
    tap.ok(not blocked.ready and blocked.cells == 0,
           "with script-src 'none' the script does not run: the page's policy is enforced")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
