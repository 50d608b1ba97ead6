"""The ESC/POS decoder on real bytes: python-escpos output with code pages, logos, barcodes, QR
codes and cuts; any chunking; noise, truncation and raster-only documents reported, never raised."""

from __future__ import annotations

import random

from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st
from receipt_support import logo, render, sample_check

from floorlink.drivers.escpos import Decoder, Document


def _all(data: bytes, step: int | None = None) -> list[Document]:
    d = Decoder()
    docs: list[Document] = []
    step = step or len(data) or 1
    for i in range(0, len(data), step):
        docs += d.feed(data[i : i + step])
    last = d.flush()
    return docs + ([last] if last else [])


def test_text_code_pages_codes_and_images_from_python_escpos() -> None:
    data = render("bistro", "receipt", sample_check())
    (doc,) = _all(data)
    assert doc.cut and doc.noise == 0 and doc.truncated is None
    assert "Café Zoë — Hauptstraße 5" not in doc.lines  # "—" is not in CP858
    assert any(line.startswith("Café Zoë") and "Hauptstraße" in line for line in doc.lines)
    assert "PAID" in doc.lines and "Check #1042   Server: ana   Guests: 3" in doc.lines
    assert doc.images == 1  # the logo, skipped by count
    assert doc.barcodes == ["000000001042"]
    assert doc.qr_codes == ["https://pay.example/1042"]
    assert 19 in doc.code_pages  # ESC t 19: CP858
    assert doc.raw_bytes == len(data)


def test_every_chunking_gives_the_same_documents() -> None:
    data = b"".join(render("trattoria", k, sample_check()) for k in ("check", "receipt", "void"))
    whole = _all(data)
    assert [d.lines for d in whole] == [d.lines for d in _all(data, 1)]
    assert [d.lines for d in whole] == [d.lines for d in _all(data, 7)]
    assert [d.raw_bytes for d in _all(data, 13)] == [d.raw_bytes for d in whole]
    assert sum(d.raw_bytes for d in whole) == len(data)
    assert "€" not in "".join(whole[0].lines) and "PRECONTO — Conto N. 1042" in whole[0].lines


def test_every_image_kind_and_the_nv_logo_are_skipped_not_read_as_text() -> None:
    p = Dummy()
    for impl in ("bitImageRaster", "graphics", "bitImageColumn"):
        p.image(logo(), impl=impl)
    p._raw(b"\x1cp\x01\x00")  # FS p: print NV bit image 1 (the stored logo)
    p._raw(b"\x1d(L\x06\x000E  \x01\x01")  # GS ( L fn 69: print NV graphics
    p.textln("Table 4")
    p.cut()
    (doc,) = _all(bytes(p.output))
    assert doc.images == 5 and doc.noise == 0
    assert [ln for ln in doc.lines if ln.strip()] == ["Table 4"]


def test_raster_only_documents_are_reported() -> None:
    p = Dummy()
    p.image(logo())
    p.image(logo(), impl="graphics")
    p.cut()
    (doc,) = _all(bytes(p.output))
    assert doc.raster_only and not doc.has_text


def test_noise_is_counted_and_the_next_document_reads_clean() -> None:
    rng = random.Random(3)
    noise = bytes(rng.randrange(256) for _ in range(600)) + b"\x1dV\x00"  # garbage, then a cut
    good = render("counter", "check", sample_check())
    docs = _all(noise + good)
    assert docs[0].noise > 4
    assert docs[-1].noise == 0 and "AMOUNT DUE  $159.00" in docs[-1].lines


def test_a_stream_ending_inside_a_command_is_truncated() -> None:
    data = render("bistro", "check", sample_check())
    start = data.index(b"\x1dv0")  # inside the logo's raster data
    docs = _all(data[: start + 20])
    assert docs[-1].truncated is not None and "raster" in docs[-1].truncated


def test_status_requests_and_drawer_kicks_are_commands_not_text() -> None:
    p = Dummy()
    p._raw(b"\x10\x04\x01\x10\x04\x04\x1da\xff\x10\x14\x01\x00\x05")
    p.cashdraw(2)
    p.textln("Table 9")
    p.cut()
    (doc,) = _all(bytes(p.output))
    assert doc.noise == 0 and [ln for ln in doc.lines if ln] == ["Table 9"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
def test_any_bytes_never_raise(data: bytes, step: int) -> None:
    docs = _all(data, step)
    assert sum(d.raw_bytes for d in docs) == len(data)
