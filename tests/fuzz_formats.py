"""Format-aware mutations for the fuzzed readers: files that pass the outer checks (a valid safetensors
checksum, a PNG header with its CRC, a well-formed zip) and carry the fault inside, where only the reader's own
checks can find it."""
from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
import zlib
from functools import lru_cache

import numpy as np
from hypothesis import strategies as st

from fuzz_mutations import AWKWARD_INTS, byte_mutations, json_mutations


@lru_cache(maxsize=1)
def _scratch() -> str:
    """A folder for the files the strategies write to re-sign them (made on first use)."""
    return tempfile.mkdtemp(prefix="lucidnet-fuzz-")


# ---- safetensors ------------------------------------------------------------------------------------

def _split_safetensors(data: bytes) -> tuple[dict, bytes]:
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def _frame(header_text: str, body: bytes) -> bytes:
    raw = header_text.encode()
    return len(raw).to_bytes(8, "little") + raw + body


@st.composite
def safetensors_header(draw, seed: bytes) -> bytes:
    """The file with its JSON header mutated and re-framed (the 8-byte length right; the checksum now wrong,
    unless the header part that changed is not covered by it)."""
    header, body = _split_safetensors(seed)
    return _frame(draw(json_mutations(header)), body)


def _resign(tensors: dict, meta: dict) -> bytes:
    """A safetensors file of ``tensors`` and ``meta`` written by lucidnet (valid framing and checksum)."""
    from lucidnet.serialization.tensorfile import write
    path = os.path.join(_scratch(), f"resign-{os.getpid()}.safetensors")
    write(path, tensors, meta)
    with open(path, "rb") as f:
        return f.read()


_ARRAYS = st.sampled_from([np.zeros(0, np.float32), np.zeros((), np.float32), np.ones((3, 4), np.float64),
                           np.zeros((0, 2 ** 40), np.float32), np.arange(5, dtype=np.int64), np.ones(2, bool),
                           np.full((2, 3), np.nan, np.float32), np.zeros((1, 1, 1, 1, 1, 1, 1, 1), np.float32)])


@st.composite
def resigned(draw, seed: bytes, json_key: str) -> bytes:
    """A lucidnet safetensors file rewritten with valid framing and checksum, but with the JSON held in metadata
    ``json_key`` mutated, or a tensor replaced by one of another shape or dtype, or one dropped."""
    from lucidnet.serialization.tensorfile import read
    path = os.path.join(_scratch(), f"seed-{os.getpid()}.safetensors")
    with open(path, "wb") as f:
        f.write(seed)
    arrays, meta = read(path)
    meta = {k: v for k, v in meta.items() if not k.startswith("lucidnet.sha256") and k != "lucidnet.order"}
    kind = draw(st.sampled_from(["json", "json", "tensor", "drop"]))
    if kind == "json" and json_key in meta:
        meta[json_key] = draw(json_mutations(json.loads(meta[json_key])))
    elif arrays:
        name = draw(st.sampled_from(sorted(arrays)))
        if kind == "tensor":
            arrays[name] = draw(_ARRAYS)
        else:
            del arrays[name]
    return _resign(dict(arrays), meta)


# ---- PNG and JPEG -----------------------------------------------------------------------------------

def _png_chunks(data: bytes):
    pos = 8
    while pos + 8 <= len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        yield pos, data[pos + 4:pos + 8], n
        pos += 12 + n


@st.composite
def png_header(draw, seed: bytes) -> bytes:
    """The PNG with IHDR's width and height (or bit depth and colour type) set to awkward values, its CRC
    recomputed so the header is accepted: huge dimensions reach the decoder."""
    out = bytearray(seed)
    for pos, kind, n in _png_chunks(seed):
        if kind == b"IHDR":
            body = bytearray(seed[pos + 8:pos + 8 + n])
            dims = st.sampled_from([v for v in AWKWARD_INTS if v < 2 ** 32] + [9459, 100_000])
            body[0:4] = draw(dims).to_bytes(4, "big")
            body[4:8] = draw(dims).to_bytes(4, "big")
            if draw(st.booleans()):
                body[8] = draw(st.sampled_from([1, 2, 4, 8, 16, 3]))
                body[9] = draw(st.sampled_from([0, 2, 3, 4, 6, 7]))
            crc = zlib.crc32(b"IHDR" + bytes(body)).to_bytes(4, "big")
            out[pos + 8:pos + 8 + n + 4] = bytes(body) + crc
    return bytes(out)


@st.composite
def jpeg_header(draw, seed: bytes) -> bytes:
    """The JPEG with its frame header's (SOF0) height and width set to awkward values."""
    i = seed.find(b"\xff\xc0")
    if i < 0:
        return seed
    dims = st.sampled_from([0, 1, 7, 255, 9459, 65500, 65535])
    out = bytearray(seed)
    out[i + 5:i + 7] = draw(dims).to_bytes(2, "big")
    out[i + 7:i + 9] = draw(dims).to_bytes(2, "big")
    return bytes(out)


# ---- zip archives (MovieLens, .pth) -----------------------------------------------------------------

def zip_members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def make_zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED, links: tuple = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            if name in links:
                info.external_attr = 0o120777 << 16  # a symbolic link
            z.writestr(info, data)
    return buf.getvalue()


def bomb_member(size: int) -> bytes:
    """``size`` zero bytes: deflated about 1000:1."""
    return b"\0" * size


@st.composite
def zip_contents(draw, seed: bytes, escape_prefix: str = "") -> bytes:
    """A well-formed zip of the seed's members with one member's bytes mutated, or a member renamed to escape
    the target folder (``..``, absolute, a drive, a symbolic link), or a bomb member added (tens of MB of
    zeros in a few KB), or the same member twice."""
    members = zip_members(seed)
    kind = draw(st.sampled_from(["content", "content", "escape", "link", "bomb", "twice", "stored"]))
    files = [i for i, (name, _) in enumerate(members) if not name.endswith("/")]
    i = draw(st.sampled_from(files))
    name, data = members[i]
    if kind == "content":
        members[i] = (name, draw(byte_mutations(data)))
    elif kind == "escape":
        evil = draw(st.sampled_from(["../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "a/../../evil.txt",
                                     escape_prefix + "../../evil.txt", "..\\evil.txt"]))
        members.append((evil, b"pwned"))
    elif kind == "link":
        members.append((escape_prefix + "link", b"/etc/passwd"))
        return make_zip(members, links=(escape_prefix + "link",))
    elif kind == "bomb":
        members[i] = (name, bomb_member(draw(st.sampled_from([1 << 20, 20 << 20, 60 << 20]))))
    elif kind == "twice":
        members.append((name, draw(byte_mutations(data))))
    else:
        return make_zip(members, zipfile.ZIP_STORED)
    return make_zip(members)


def pickle_inside(data: bytes) -> st.SearchStrategy[bytes]:
    """A torch zip file whose ``data.pkl`` is mutated (the zip kept valid), so the unpickler gets the fault."""
    members = zip_members(data)

    @st.composite
    def build(draw):
        out = []
        for name, body in members:
            out.append((name, draw(byte_mutations(body)) if name.endswith("data.pkl") else body))
        return make_zip(out, zipfile.ZIP_STORED)
    return build()


def pth_storage_bomb(data: bytes) -> bytes:
    """A torch zip file whose first storage entry is replaced by 50 MB of zeros, deflated."""
    members = zip_members(data)
    k = next(i for i, (name, _) in enumerate(members) if "/data/" in name)
    members[k] = (members[k][0], bomb_member(50 << 20))
    return make_zip(members)


def idx_header(seed: bytes) -> st.SearchStrategy[bytes]:
    """An IDX file whose dimension count and sizes are awkward (data left as it was)."""
    @st.composite
    def build(draw):
        nd = draw(st.sampled_from([1, 2, 3, 4, 8, 16, 255]))
        dims = draw(st.lists(st.sampled_from([v for v in AWKWARD_INTS if v < 2 ** 32] + [3, 4, 5]),
                             min_size=nd, max_size=nd))
        code = draw(st.sampled_from([0x08, 0x0D, 0x0E, 0x0B]))
        old_nd = seed[3]
        return bytes([0, 0, code, nd]) + struct.pack(f">{nd}I", *dims) + seed[4 + 4 * old_nd:]
    return build()


# ---- WAV --------------------------------------------------------------------------------------------

@st.composite
def wav_header(draw, seed: bytes) -> bytes:
    """A WAV file whose RIFF chunks stay framed while one field inside is set to an awkward value: a field of the
    ``fmt `` chunk (format tag, channels, rate, byte rate, block align, bits), the data chunk's size, or the
    RIFF size; or a chunk of unknown kind (any size) inserted before the data."""
    data = bytearray(seed)
    fmt_at, data_at = seed.index(b"fmt "), seed.index(b"data")
    kind = draw(st.sampled_from(["fmt", "fmt", "data size", "riff size", "extra chunk"]))
    if kind == "fmt":
        offset, width = draw(st.sampled_from([(0, 2), (2, 2), (4, 4), (8, 4), (12, 2), (14, 2)]))
        value = draw(st.sampled_from([0, 1, 2, 3, 7, 8, 24, 0xFFFE, 0xFFFF, 65535, 2 ** 31, 2 ** 32 - 1]))
        data[fmt_at + 8 + offset:fmt_at + 8 + offset + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    elif kind == "data size":
        value = draw(st.sampled_from(list(AWKWARD_INTS) + [len(seed), len(seed) - data_at - 7, 1, 3]))
        data[data_at + 4:data_at + 8] = (value % (1 << 32)).to_bytes(4, "little")
    elif kind == "riff size":
        data[4:8] = (draw(st.sampled_from(AWKWARD_INTS)) % (1 << 32)).to_bytes(4, "little")
    else:
        size = draw(st.sampled_from([0, 1, 7, 2 ** 31, 2 ** 32 - 1]))
        chunk = b"LIST" + size.to_bytes(4, "little") + b"x" * min(size, 9)
        data[data_at:data_at] = chunk
    return bytes(data)
