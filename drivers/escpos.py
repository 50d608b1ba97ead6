"""ESC/POS byte stream -> printed documents: the text a person would read, and what else was on it.

Built from Epson's command reference (docs/receipt-capture.md names the editions read): every
ESC, GS, FS and DLE command is consumed with its arguments, so nothing of a command leaks into
the text. Length-prefixed data (raster and column images, NV and downloaded graphics, 2D codes)
is skipped by count without being buffered, so a 2 MB logo costs no memory. Text bytes are decoded
through the code page the stream selected last (`ESC t n`, reset by `ESC @`).

The stream is split into documents at every paper cut (`GS V`, `ESC i`, `ESC m`); the caller ends
a document after an idle gap or the end of a connection with `flush`. Bytes the command set does
not explain (line noise, a wrong baud rate) are counted as `noise`; a document ending in the
middle of a command is `truncated`. Both are for the caller to reject; the decoder itself never
raises on input and resyncs on the next byte.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass, field

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, FF, CAN, NUL = 0x0A, 0x0D, 0x09, 0x0C, 0x18, 0x00

#: `ESC t n` -> Python codec (Epson's character code tables; pages Python has no codec for are
#: decoded as U+FFFD and counted).
CODE_PAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    13: "cp857",
    14: "cp737",
    15: "iso8859-7",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
    32: "cp720",
    33: "cp775",
    34: "cp855",
    35: "cp861",
    36: "cp862",
    37: "cp864",
    38: "cp869",
    39: "iso8859-2",
    40: "iso8859-15",
    44: "cp1125",
    45: "cp1250",
    46: "cp1251",
    47: "cp1253",
    48: "cp1254",
    49: "cp1255",
    50: "cp1256",
    51: "cp1257",
    52: "cp1258",
    53: "kz1048",
}

#: ESC x -> number of argument bytes, for the fixed-length ESC commands.
ESC_FIXED: dict[int, int] = {
    0x0C: 0,  # ESC FF print in page mode
    0x20: 1,  # ESC SP right-side spacing
    0x21: 1,  # ESC ! print mode
    0x24: 2,  # ESC $ absolute position
    0x25: 1,  # ESC % user-defined characters on/off
    0x2D: 1,  # ESC - underline
    0x32: 0,  # ESC 2 default line spacing
    0x33: 1,  # ESC 3 line spacing
    0x3C: 0,  # ESC < return home
    0x3D: 1,  # ESC = peripheral device
    0x3F: 1,  # ESC ? cancel user-defined character
    0x40: 0,  # ESC @ initialize
    0x45: 1,  # ESC E emphasized
    0x47: 1,  # ESC G double-strike
    0x4A: 1,  # ESC J print and feed (ends the line)
    0x4B: 1,  # ESC K print and reverse feed
    0x4C: 0,  # ESC L page mode
    0x4D: 1,  # ESC M font
    0x52: 1,  # ESC R international character set
    0x53: 0,  # ESC S standard mode
    0x54: 1,  # ESC T print direction in page mode
    0x55: 1,  # ESC U unidirectional
    0x56: 1,  # ESC V 90 degree rotation
    0x57: 8,  # ESC W print area in page mode
    0x5C: 2,  # ESC \ relative position
    0x61: 1,  # ESC a justification
    0x63: 2,  # ESC c 3|4|5 n paper sensors, panel buttons
    0x64: 1,  # ESC d print and feed n lines (ends the line)
    0x65: 1,  # ESC e print and reverse feed n lines
    0x69: 0,  # ESC i partial cut (obsolete): a cut
    0x6D: 0,  # ESC m partial cut (obsolete): a cut
    0x70: 3,  # ESC p drawer kick pulse
    0x72: 1,  # ESC r print colour
    0x74: 1,  # ESC t character code table
    0x75: 1,  # ESC u peripheral status (answered by the printer)
    0x76: 0,  # ESC v paper sensor status (answered by the printer)
    0x7B: 1,  # ESC { upside-down
}

#: GS x -> number of argument bytes, for the fixed-length GS commands.
GS_FIXED: dict[int, int] = {
    0x21: 1,  # GS ! character size
    0x24: 2,  # GS $ absolute vertical position (page mode)
    0x2F: 1,  # GS / print downloaded bit image
    0x3A: 0,  # GS : start/end macro
    0x42: 1,  # GS B reverse print
    0x48: 1,  # GS H HRI position
    0x49: 1,  # GS I transmit printer ID (answered)
    0x4C: 2,  # GS L left margin
    0x50: 2,  # GS P motion units
    0x54: 1,  # GS T print position to line start
    0x57: 2,  # GS W print area width
    0x5C: 2,  # GS \ relative vertical position
    0x5E: 3,  # GS ^ execute macro
    0x61: 1,  # GS a automatic status back
    0x62: 1,  # GS b smoothing
    0x63: 0,  # GS c print counter
    0x66: 1,  # GS f HRI font
    0x68: 1,  # GS h barcode height
    0x6A: 1,  # GS j automatic status back (ink)
    0x72: 1,  # GS r transmit status (answered)
    0x77: 1,  # GS w barcode width
}

#: FS x -> number of argument bytes, for the fixed-length FS commands.
FS_FIXED: dict[int, int] = {
    0x21: 1,  # FS ! Kanji print mode
    0x26: 0,  # FS & Kanji mode on
    0x2D: 1,  # FS - Kanji underline
    0x2E: 0,  # FS . Kanji mode off
    0x43: 1,  # FS C Kanji code system
    0x53: 2,  # FS S Kanji spacing
    0x57: 1,  # FS W Kanji quadruple size
    0x70: 2,  # FS p print NV bit image (obsolete)
}

#: DLE DC4 fn -> argument bytes after fn (real-time requests: pulse, power-off, buzzer...).
DLE_DC4_ARGS: dict[int, int] = {1: 2, 2: 2, 3: 2, 7: 2, 8: 7}

#: Raster/graphics commands this large are not a receipt: a declared length past this is noise.
MAX_DATA_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class Document:
    """One printed document (from one cut to the next, or to an idle gap / end of stream)."""

    lines: list[str] = field(default_factory=list)
    raw_bytes: int = 0
    cut: bool = False
    images: int = 0  # raster, column-format, NV and downloaded graphics printed or stored
    barcodes: list[str] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    code_pages: list[int] = field(default_factory=list)  # every ESC t seen, in order
    noise: int = 0  # bytes no command explains
    unknown_pages: int = 0  # characters in a code page we cannot decode
    truncated: str | None = None  # why the document stopped in the middle of a command
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def has_text(self) -> bool:
        return any(line.strip() for line in self.lines)

    @property
    def raster_only(self) -> bool:
        """Printed, but only as pictures: many drivers send text as an image."""
        return self.images > 0 and not self.has_text

    def content_hash(self, skip: tuple[str, ...] = ()) -> str:
        """A digest of what was printed (text lines, codes), so the same check printed twice
        hashes the same whatever the control bytes around it. `skip` lines are left out."""
        h = hashlib.sha256()
        for line in self.lines:
            stripped = line.strip()
            if stripped and stripped not in skip:
                h.update(stripped.encode("utf-8") + b"\n")
        for code in self.barcodes + self.qr_codes:
            h.update(b"\x00" + code.encode("utf-8"))
        return h.hexdigest()


class Decoder:
    """Incremental: `feed` any chunking of a stream, get the documents completed by a cut."""

    def __init__(self, default_page: int = 0) -> None:
        self.default_page = default_page
        self.page = default_page
        self._buf = bytearray()
        self._skip = 0  # data bytes of a command still to skip
        self._skip_what = ""
        self._doc = Document()
        self._line: list[str] = []
        self._text = bytearray()
        self.documents_done = 0
        self._fed = 0  # bytes fed in all
        self._doc_start = 0  # stream offset where the current document began

    # ---- public ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Document]:
        done: list[Document] = []
        self._fed += len(data)
        if self._skip:
            n = min(self._skip, len(data))
            self._skip -= n
            data = data[n:]
        self._buf += data
        base = self._fed - len(self._buf)
        i = 0
        buf = self._buf
        while i < len(buf):
            if self._skip:
                n = min(self._skip, len(buf) - i)
                self._skip -= n
                i += n
                continue
            b = buf[i]
            if b >= 0x20 and b != 0x7F:
                j = i
                while j < len(buf) and buf[j] >= 0x20 and buf[j] != 0x7F:
                    j += 1
                self._text += buf[i:j]
                i = j
                continue
            before = len(done)
            used = self._control(buf, i, done)
            if used == 0:  # an incomplete command: wait for more bytes
                break
            i += used
            if len(done) > before:  # a cut: the document ends with the cut command
                done[-1].raw_bytes = base + i - self._doc_start
                self._doc_start = base + i
        del self._buf[:i]
        return done

    def flush(self, reason: str | None = None) -> Document | None:
        """End the current document (idle gap, end of stream). `reason`, if given, says the
        stream was cut (printer gone, parser behind): the document is marked truncated."""
        pending = len(self._buf) > 0 or self._skip > 0
        if pending:
            what = self._skip_what if self._skip else f"command 0x{self._buf[0]:02x}"
            self._doc.truncated = f"stream ended inside {what}"
        if reason is not None and self._fed > self._doc_start:
            self._doc.truncated = reason
        self._buf.clear()
        self._skip = 0
        self._end_line(force=False)
        doc = self._doc
        self._doc = Document()
        doc.raw_bytes = self._fed - self._doc_start
        self._doc_start = self._fed
        if not doc.raw_bytes:
            return None
        self.documents_done += 1
        return doc

    # ---- commands -------------------------------------------------------------------------

    def _control(self, buf: bytearray, i: int, done: list[Document]) -> int:
        """Handle the control byte at buf[i]; bytes consumed, or 0 when more are needed."""
        b = buf[i]
        if b == LF:
            self._end_line()
            return 1
        if b in (CR, NUL):
            return 1
        if b == HT:
            self._text += b" "
            return 1
        if b == FF:
            self._end_line()
            return 1
        if b == CAN:
            return 1
        if b == ESC:
            return self._esc(buf, i, done)
        if b == GS:
            return self._gs(buf, i, done)
        if b == FS:
            return self._fs(buf, i)
        if b == DLE:
            return self._dle(buf, i)
        self._doc.noise += 1
        return 1

    def _need(self, buf: bytearray, i: int, n: int) -> bool:
        return len(buf) - i >= n

    def _esc(self, buf: bytearray, i: int, done: list[Document]) -> int:
        if not self._need(buf, i, 2):
            return 0
        c = buf[i + 1]
        if c in ESC_FIXED:
            n = ESC_FIXED[c]
            if not self._need(buf, i, 2 + n):
                return 0
            if c == 0x40:  # ESC @: back to the power-on code page
                self._set_page(self.default_page)
            elif c == 0x74:
                self._set_page(buf[i + 2])
            elif c in (0x4A, 0x64):
                self._end_line()
            elif c in (0x69, 0x6D):
                self._cut(done)
            return 2 + n
        if c == 0x2A:  # ESC * m nL nH d: column-format bit image
            if not self._need(buf, i, 5):
                return 0
            m, width = buf[i + 2], buf[i + 3] + 256 * buf[i + 4]
            self._doc.images += 1
            return self._data(5, width * (3 if m in (32, 33) else 1), "ESC * bit image")
        if c == 0x26:  # ESC & y c1 c2 [x d1..d(y*x)]...: user-defined characters
            if not self._need(buf, i, 5):
                return 0
            y, c1, c2 = buf[i + 2], buf[i + 3], buf[i + 4]
            if c2 < c1:
                return self._noise(2)
            pos = i + 5
            for _ in range(c2 - c1 + 1):
                if not self._need(buf, pos, 1):
                    return 0
                pos += 1 + y * buf[pos]
                if pos > len(buf):
                    return 0
            return pos - i
        if c == 0x44:  # ESC D n1..nk NUL: tab positions
            end = buf.find(b"\x00", i + 2, i + 2 + 33)
            if end < 0:
                return 0 if len(buf) - i < 35 else self._noise(2)
            return end + 1 - i
        if c == 0x28:  # ESC ( x pL pH ...: length-prefixed functions (beeper, ...)
            if not self._need(buf, i, 5):
                return 0
            return self._data(5, buf[i + 3] + 256 * buf[i + 4], "ESC ( function")
        return self._noise(2)

    def _gs(self, buf: bytearray, i: int, done: list[Document]) -> int:
        if not self._need(buf, i, 2):
            return 0
        c = buf[i + 1]
        if c in GS_FIXED:
            n = GS_FIXED[c]
            return 2 + n if self._need(buf, i, 2 + n) else 0
        if c == 0x56:  # GS V m [n]: cut
            if not self._need(buf, i, 3):
                return 0
            m = buf[i + 2]
            n = 1 if m in (65, 66, 97, 98, 103, 104) else 0
            if not self._need(buf, i, 3 + n):
                return 0
            self._cut(done)
            return 3 + n
        if c == 0x28:  # GS ( x pL pH ...
            if not self._need(buf, i, 5):
                return 0
            fn_letter, length = buf[i + 2], buf[i + 3] + 256 * buf[i + 4]
            if fn_letter == 0x6B:  # GS ( k: 2D codes; need the whole command for the data
                if length > 64 * 1024:
                    return self._noise(2)
                if not self._need(buf, i, 5 + length):
                    return 0
                self._symbol(bytes(buf[i + 5 : i + 5 + length]))
                return 5 + length
            if fn_letter == 0x4C:  # GS ( L: graphics
                if not self._need(buf, i, 7):
                    return 0
                self._graphics(buf[i + 6])
            return self._data(5, length, f"GS ( {chr(fn_letter)} data")
        if c == 0x38:  # GS 8 L p1 p2 p3 p4 m fn ...: graphics with a 4-byte length
            if not self._need(buf, i, 9):
                return 0
            if buf[i + 2] != 0x4C:
                return self._noise(2)
            length = int.from_bytes(buf[i + 3 : i + 7], "little")
            self._graphics(buf[i + 8])
            return self._data(7, length, "GS 8 L graphics data")
        if c == 0x76:  # GS v 0 m xL xH yL yH d: raster bit image
            if not self._need(buf, i, 8):
                return 0
            if buf[i + 2] != 0x30:
                return self._noise(2)
            x, y = buf[i + 4] + 256 * buf[i + 5], buf[i + 6] + 256 * buf[i + 7]
            self._doc.images += 1
            return self._data(8, x * y, "GS v 0 raster image")
        if c == 0x51:  # GS Q 0 m xL xH yL yH d: variable-size raster image
            if not self._need(buf, i, 8):
                return 0
            x, y = buf[i + 4] + 256 * buf[i + 5], buf[i + 6] + 256 * buf[i + 7]
            self._doc.images += 1
            return self._data(8, x * y, "GS Q 0 raster image")
        if c == 0x2A:  # GS * x y d: define downloaded bit image
            if not self._need(buf, i, 4):
                return 0
            return self._data(4, buf[i + 2] * buf[i + 3] * 8, "GS * bit image")
        if c == 0x6B:  # GS k m ...: barcode
            if not self._need(buf, i, 3):
                return 0
            m = buf[i + 2]
            if m <= 6:
                end = buf.find(b"\x00", i + 3, i + 3 + 256)
                if end < 0:
                    return 0 if len(buf) - i < 259 else self._noise(2)
                self._barcode(bytes(buf[i + 3 : end]))
                return end + 1 - i
            if 65 <= m <= 79:
                if not self._need(buf, i, 4) or not self._need(buf, i, 4 + buf[i + 3]):
                    return 0
                self._barcode(bytes(buf[i + 4 : i + 4 + buf[i + 3]]))
                return 4 + buf[i + 3]
            return self._noise(2)
        if c == 0x67:  # GS g 0 m nL nH / GS g 2 m nL nH: maintenance counters
            return 6 if self._need(buf, i, 6) else 0
        if c == 0x7A:  # GS z 0 t1 t2: online recovery wait
            return 5 if self._need(buf, i, 5) else 0
        return self._noise(2)

    def _fs(self, buf: bytearray, i: int) -> int:
        if not self._need(buf, i, 2):
            return 0
        c = buf[i + 1]
        if c in FS_FIXED:
            n = FS_FIXED[c]
            if not self._need(buf, i, 2 + n):
                return 0
            if c == 0x70:
                self._doc.images += 1  # FS p: print an NV bit image (a logo)
            return 2 + n
        if c == 0x28:  # FS ( x pL pH ...
            if not self._need(buf, i, 5):
                return 0
            return self._data(5, buf[i + 3] + 256 * buf[i + 4], "FS ( function")
        if c == 0x71:  # FS q n [xL xH yL yH d1..d(x*y*8)]n: define NV bit images
            if not self._need(buf, i, 3):
                return 0
            pos = i + 3
            for _ in range(buf[i + 2]):
                if not self._need(buf, pos, 4):
                    return 0
                size = (buf[pos] + 256 * buf[pos + 1]) * (buf[pos + 2] + 256 * buf[pos + 3]) * 8
                pos += 4 + size
                if pos > len(buf):
                    return 0
            return pos - i
        if c == 0x32:  # FS 2 c1 c2 d1..dk: define a user Kanji character (24x24)
            return 76 if self._need(buf, i, 76) else 0
        return self._noise(2)

    def _dle(self, buf: bytearray, i: int) -> int:
        if not self._need(buf, i, 3):
            return 0
        c, n = buf[i + 1], buf[i + 2]
        if c == 0x04:  # DLE EOT n [a]: real-time status request (the printer answers)
            if n in (7, 8):
                return 4 if self._need(buf, i, 4) else 0
            return 3
        if c == 0x05:  # DLE ENQ n: real-time request
            return 3
        if c == 0x14:  # DLE DC4 fn ...: real-time pulse, power-off, buzzer
            extra = DLE_DC4_ARGS.get(n, 0)
            return 3 + extra if self._need(buf, i, 3 + extra) else 0
        return self._noise(1)

    # ---- helpers --------------------------------------------------------------------------

    def _data(self, header: int, length: int, what: str) -> int:
        """Consume a command header; skip its `length` data bytes as they come."""
        if length > MAX_DATA_BYTES:
            return self._noise(2)
        self._skip = length
        self._skip_what = what
        return header

    def _noise(self, n: int) -> int:
        self._doc.noise += n
        return n

    def _graphics(self, fn: int) -> None:
        # GS ( L / GS 8 L: 112 stores raster graphics in the buffer (printed by 50), 69 prints
        # NV graphics, 85 prints downloaded graphics, 67/83 define them (not printed yet).
        if fn in (112, 69, 85):
            self._doc.images += 1

    def _symbol(self, params: bytes) -> None:
        """GS ( k cn fn ...: keep the data stored for a QR code (cn 49, fn 80)."""
        if len(params) >= 3 and params[0] == 49 and params[1] == 80:
            self._doc.qr_codes.append(params[3:].decode("latin-1"))

    def _barcode(self, data: bytes) -> None:
        self._doc.barcodes.append(data.decode("latin-1"))

    def _set_page(self, page: int) -> None:
        self._decode_pending()
        self.page = page
        self._doc.code_pages.append(page)

    def _decode_pending(self) -> None:
        if not self._text:
            return
        codec = CODE_PAGES.get(self.page)
        raw = bytes(self._text)
        self._text.clear()
        if codec is None:
            ascii_only = "".join(chr(c) if c < 0x80 else "\ufffd" for c in raw)
            self._doc.unknown_pages += sum(1 for c in raw if c >= 0x80)
            self._line.append(ascii_only)
        else:
            self._line.append(codecs.decode(raw, codec, errors="replace"))

    def _end_line(self, force: bool = True) -> None:
        self._decode_pending()
        if self._line or force:
            self._doc.lines.append("".join(self._line))
        self._line = []

    def _cut(self, done: list[Document]) -> None:
        self._end_line(force=False)
        self._doc.cut = True
        doc = self._doc
        self._doc = Document()
        self.documents_done += 1
        done.append(doc)
