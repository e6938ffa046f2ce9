#!/usr/bin/env python3
"""make_hostile_models.py - broken and hostile model directories for the loaders.

    python3 tests/make_hostile_models.py OUTDIR

Builds one directory per case under OUTDIR (the directory's name is the case
id), each a copy of a small valid reference model (tests/reference/models/
gpt2-f32, or gpt1-f32 for the openai-gpt cases) with one file rewritten, and
writes OUTDIR/cases.tsv: one line per case, "id<TAB>expect<TAB>what", where
expect is the base name of the file the error message must name, or "ok" for
a case that must load. e2e_hostile_files.sh runs gptscope on each.

Python 3 standard library only (CI runs it before anything else is built).
"""
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "reference", "models")
FILES = ("config.json", "model.safetensors", "vocab.json", "merges.txt")
DEEP = 10000  # nesting depth of the deep-JSON cases


def read(base, name):
    with open(os.path.join(REF, base, name), "rb") as f:
        return f.read()


# ------------------------------------------------------------ safetensors


def st_split(blob):
    """-> (header dict in file order, data area bytes)."""
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n].decode("utf-8")), blob[8 + n:]


def st_pack(header, data, hlen=None):
    """A file from a header (dict, or raw bytes used as they are) and data.
    The header is space-padded to a multiple of 8 as the reference writer does;
    hlen overrides the length field."""
    if isinstance(header, (bytes, bytearray)):
        h = bytes(header)
    else:
        h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def st_tensors(header, data):
    """[(name, dtype, shape, bytes)] in data-offset order."""
    out = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        out.append((b, name, e["dtype"], list(e["shape"]), data[b:en]))
    out.sort()
    return [t[1:] for t in out]


def st_from_tensors(tensors, meta=None):
    """A valid file holding tensors [(name, dtype, shape, bytes)] back to back."""
    header = {"__metadata__": meta if meta is not None else {"format": "pt"}}
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return st_pack(header, data)


def st_edit(blob, fn):
    """Applies fn(header) (in place) and repacks with the same data."""
    header, data = st_split(blob)
    fn(header)
    return st_pack(header, data)


def set_entry(name, key, value):
    def fn(h):
        h[name][key] = value
    return fn


# ----------------------------------------------------------------- cases


class Cases:
    def __init__(self, out):
        self.out = out
        self.rows = []

    def add(self, cid, expect, what, base="gpt2-f32", files=None, dirs=(), remove=()):
        """files: {name: bytes} replacing the base model's; dirs: names made
        directories instead of files; remove: names left out."""
        d = os.path.join(self.out, cid)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        files = files or {}
        for name in FILES:
            path = os.path.join(d, name)
            if name in remove:
                continue
            if name in dirs:
                os.mkdir(path)
            elif name in files:
                with open(path, "wb") as f:
                    f.write(files[name])
            else:
                shutil.copyfile(os.path.join(REF, base, name), path)
        self.rows.append((cid, expect, what))

    def write_index(self):
        with open(os.path.join(self.out, "cases.tsv"), "w", encoding="utf-8") as f:
            for row in self.rows:
                f.write("\t".join(row) + "\n")


def safetensors_cases(c):
    ST = "model.safetensors"
    blob = read("gpt2-f32", ST)
    header, data = st_split(blob)
    hbytes = blob[8:8 + struct.unpack("<Q", blob[:8])[0]]
    tensors = st_tensors(header, data)
    size = len(blob)

    def add(cid, what, payload, expect=ST, base="gpt2-f32"):
        c.add(cid, expect, what, base=base, files={ST: payload})

    # the length field
    add("st-hlen-zero", "header length 0", struct.pack("<Q", 0) + blob[8:])
    add("st-hlen-past-eof", "header length larger than the file", st_pack(hbytes, data, size))
    add("st-hlen-rest", "header length = the whole rest of the file", st_pack(hbytes, data, size - 8))
    add("st-hlen-2p63", "header length 2^63", st_pack(hbytes, data, 1 << 63))
    add("st-hlen-2p64m1", "header length 2^64-1", st_pack(hbytes, data, (1 << 64) - 1))
    add("st-hlen-200m", "header length 200 MB (file far smaller)", st_pack(hbytes, data, 200 << 20))
    # what the header holds
    add("st-header-not-json", "header is not JSON", st_pack(b"this is not json at all", data))
    add("st-header-array", "header is a JSON array", st_pack(b"[1, 2, 3]", data))
    add("st-header-number", "header is a JSON number", st_pack(b"42", data))
    add("st-header-string", "header is a JSON string", st_pack(b'"hello"', data))
    add("st-header-null", "header is JSON null", st_pack(b"null", data))
    add("st-header-empty-object", "header is {} (no tensors, data left over)", st_pack(b"{}", data))
    add("st-header-trailing", "garbage after the header object",
        st_pack(hbytes.rstrip() + b"xyz", data))
    add("st-nested-array", "header nested %d deep ([[[..." % DEEP,
        st_pack(b"[" * DEEP + b"]" * DEEP, data))
    add("st-nested-object", 'header nested %d deep ({"a":{"a":...' % DEEP,
        st_pack(b'{"a":' * DEEP + b"1" + b"}" * DEEP, data))
    add("st-nested-in-entry", "a tensor entry nested deep inside",
        st_pack(b'{"x":' + b"[" * DEEP + b"]" * DEEP + b"}", data))
    add("st-bad-utf8-name", "tensor name with invalid UTF-8",
        st_pack(hbytes.replace(b'"wpe.weight"', b'"wpe.\xff\xfe"', 1), data))
    add("st-bad-utf8-metadata", "invalid UTF-8 in a __metadata__ value",
        st_pack(hbytes.replace(b'"format":"pt"', b'"format":"p\xc3"', 1), data))
    add("st-bad-utf8-dtype", "invalid UTF-8 in a dtype string",
        st_pack(hbytes.replace(b'"F32"', b'"F\xe2\x82"', 1), data))
    add("st-control-name", "tensor name with a control character",
        st_pack(hbytes.replace(b'"wpe.weight"', b'"wpe\\u0001weight"', 1), data))
    add("st-duplicate-name", "the same tensor name twice",
        st_pack(hbytes.rstrip()[:-1] + b',"wte.weight":' +
                json.dumps(header["wte.weight"], separators=(",", ":")).encode() + b"}", data))
    add("st-metadata-null", "__metadata__ null (no metadata: loads)",
        st_edit(blob, lambda h: h.__setitem__("__metadata__", None)), expect="ok")
    add("st-bad-utf8-unread-key", "invalid UTF-8 in an entry key nobody reads",
        st_pack(hbytes.replace(b'"dtype":"F32"', b'"x\xff":1,"dtype":"F32"', 1), data))
    add("st-bom", "header starting with a UTF-8 byte-order mark",
        st_pack(b"\xef\xbb\xbf" + hbytes, data))
    add("st-metadata-array", "__metadata__ is an array",
        st_edit(blob, lambda h: h.__setitem__("__metadata__", [1, 2])))
    add("st-metadata-string", "__metadata__ is a string",
        st_edit(blob, lambda h: h.__setitem__("__metadata__", "pt")))
    add("st-metadata-number-value", "__metadata__ holds a number (must be strings)",
        st_edit(blob, lambda h: h.__setitem__("__metadata__", {"format": 1})))
    add("st-metadata-nested", "__metadata__ holds an object",
        st_edit(blob, lambda h: h.__setitem__("__metadata__", {"format": {"a": "b"}})))
    # one entry of the header
    b0, e0 = header["wte.weight"]["data_offsets"]
    b1, e1 = header["wpe.weight"]["data_offsets"]
    add("st-entry-not-object", "a tensor entry is a number",
        st_edit(blob, lambda h: h.__setitem__("wte.weight", 5)))
    add("st-entry-no-dtype", "a tensor entry without dtype",
        st_edit(blob, lambda h: h["wte.weight"].pop("dtype")))
    add("st-offsets-outside", "data_offsets past the end of the data",
        st_edit(blob, set_entry("wte.weight", "data_offsets", [b0, len(data) + 4096])))
    add("st-offsets-huge", "data_offsets 2^62",
        st_edit(blob, set_entry("wte.weight", "data_offsets", [b0, 1 << 62])))
    add("st-offsets-1e30", "data_offsets 1e30 (a float)",
        st_pack(hbytes.replace(b'"data_offsets":[0,', b'"data_offsets":[1e30,', 1), data))
    add("st-offsets-negative", "negative data_offsets",
        st_edit(blob, set_entry("wte.weight", "data_offsets", [-4, e0])))
    add("st-offsets-string", "data_offsets are strings",
        st_edit(blob, set_entry("wte.weight", "data_offsets", [str(b0), str(e0)])))
    add("st-offsets-three", "three data_offsets",
        st_edit(blob, set_entry("wte.weight", "data_offsets", [b0, e0, e0])))
    add("st-offsets-reversed", "data_offsets end before they begin",
        st_edit(blob, set_entry("wpe.weight", "data_offsets", [e1, b1])))
    add("st-overlap", "two tensors share bytes",
        st_edit(blob, set_entry("wpe.weight", "data_offsets", [b1 - 64, e1 - 64])))
    add("st-gap", "bytes after the last tensor",
        st_pack(hbytes, data + b"\0" * 64))
    add("st-shape-overflow", "shape whose element count overflows 64 bits",
        st_edit(blob, set_entry("wte.weight", "shape", [1 << 32, 1 << 32, 1 << 8])))
    add("st-shape-overflow-3", "shape 3037000500^3 (overflows, each dim < 2^32)",
        st_edit(blob, set_entry("wte.weight", "shape", [3037000500] * 3)))
    add("st-shape-bytes-overflow", "element count fits, count x 4 bytes overflows",
        st_edit(blob, set_entry("wte.weight", "shape", [1 << 31, 1 << 31, 1 << 1])))
    add("st-dim-negative", "a negative dimension",
        st_edit(blob, set_entry("wte.weight", "shape", [-337, -32])))
    add("st-dim-float", "a non-integer dimension",
        st_edit(blob, set_entry("wte.weight", "shape", [336.5, 32])))
    add("st-dim-huge", "a dimension of 1e300",
        st_pack(hbytes.replace(b'"shape":[337,32]', b'"shape":[1e300,32]', 1), data))
    add("st-dim-string", "a dimension that is a string",
        st_edit(blob, set_entry("wte.weight", "shape", ["337", 32])))
    add("st-shape-not-array", "shape is a number",
        st_edit(blob, set_entry("wte.weight", "shape", 10784)))
    add("st-too-many-dims", "a 9-dimensional shape",
        st_edit(blob, set_entry("wte.weight", "shape", [337, 32] + [1] * 7)))
    add("st-dtype-bytes-disagree", "F16 dtype on F32-sized bytes",
        st_edit(blob, set_entry("wte.weight", "dtype", "F16")))
    add("st-dtype-unknown", "unknown dtype",
        st_edit(blob, set_entry("wte.weight", "dtype", "Q4_K")))
    add("st-dtype-number", "dtype is a number",
        st_edit(blob, set_entry("wte.weight", "dtype", 32)))
    add("st-dtype-i32", "a known dtype the model cannot use (I32)",
        st_edit(blob, set_entry("wte.weight", "dtype", "I32")))
    # the set of tensors against config.json
    add("st-missing-tensor", "a required tensor is absent",
        st_from_tensors([t for t in tensors if t[0] != "h.1.mlp.c_fc.bias"]))
    add("st-missing-all", "no tensors at all", st_from_tensors([]))
    add("st-extra-tensor", "an extra unknown tensor (ignored, as lm_head.weight is)",
        st_from_tensors(tensors + [("extra.unknown", "F32", [4], b"\0" * 16)]), expect="ok")
    add("st-extra-layer", "a tensor of layer 2 when n_layer is 2",
        st_from_tensors(tensors + [("h.2.ln_1.weight", "F32", [32], b"\0" * 128)]))
    add("st-wrong-shape", "a tensor with the wrong shape (transposed)",
        st_edit(blob, set_entry("wte.weight", "shape", [32, 337])))
    add("st-wrong-shape-1d", "a vector with the wrong length",
        st_from_tensors([(n, d, [16] if n == "ln_f.bias" else s, r[:64] if n == "ln_f.bias" else r)
                         for n, d, s, r in tensors]))
    add("st-nan", "a NaN in a weight",
        st_pack(hbytes, data[:b0] + b"\x00\x00\xc0\x7f" + data[b0 + 4:]))
    # the file as a whole
    # 1000 layers of width 1 behind 100,000 empty junk entries: each lookup
    # of the loader's 12,000 must not scan the whole header (it once took
    # seconds per command; a larger header, minutes)
    cfg = json.loads(read("gpt2-f32", "config.json"))
    cfg.update(n_layer=1000, n_embd=1, n_head=1, n_inner=None)
    many = [("junk%06d" % i, "F32", [0], b"") for i in range(100000)]
    shapes = [("wte.weight", [337, 1]), ("wpe.weight", [64, 1]), ("ln_f.weight", [1]),
              ("ln_f.bias", [1])]
    for l in range(1000):
        for suffix, shape in (("ln_1.weight", [1]), ("ln_1.bias", [1]), ("ln_2.weight", [1]),
                              ("ln_2.bias", [1]), ("attn.c_attn.weight", [1, 3]),
                              ("attn.c_attn.bias", [3]), ("attn.c_proj.weight", [1, 1]),
                              ("attn.c_proj.bias", [1]), ("mlp.c_fc.weight", [1, 4]),
                              ("mlp.c_fc.bias", [4]), ("mlp.c_proj.weight", [4, 1]),
                              ("mlp.c_proj.bias", [1])):
            shapes.append(("h.%d.%s" % (l, suffix), shape))
    for name, shape in shapes:
        count = 1
        for d in shape:
            count *= d
        many.append((name, "F32", shape, struct.pack("<f", 0.5) * count))
    c.add("st-many-tensors", "ok", "100,000 junk tensors before 1000 layers (loads, fast)",
          files={ST: st_from_tensors(many), "config.json": json.dumps(cfg).encode()})
    add("st-truncated-header", "file cut inside the header", blob[:8 + len(hbytes) // 2])
    add("st-truncated-data", "file cut inside the data", blob[:size - 1000])
    add("st-truncated-one", "file one byte short", blob[:-1])
    add("st-empty", "empty file", b"")
    add("st-short", "5 bytes, shorter than the length field", b"\x10\0\0\0\0")
    add("st-length-only", "only the length field", struct.pack("<Q", 0))
    c.add("st-is-dir", ST, "model.safetensors is a directory", dirs=(ST,))
    c.add("st-missing-file", ST, "model.safetensors absent", remove=(ST,))
    # GPT-1
    blob1 = read("gpt1-f32", ST)
    h1, d1 = st_split(blob1)
    t1 = st_tensors(h1, d1)
    add("gpt1-st-missing-tensor", "openai-gpt without tokens_embed.weight",
        st_from_tensors([t for t in t1 if t[0] != "tokens_embed.weight"]), base="gpt1-f32")
    add("gpt1-st-gpt2-names", "openai-gpt config, GPT-2 weights",
        blob, base="gpt1-f32")
    add("gpt1-st-truncated", "openai-gpt weights cut short", blob1[:len(blob1) // 2],
        base="gpt1-f32")


def config_cases(c):
    CF = "config.json"
    base = json.loads(read("gpt2-f32", CF))

    def add(cid, what, payload, expect=CF, model="gpt2-f32"):
        c.add(cid, expect, what, base=model, files={CF: payload})

    def with_(**kw):
        d = dict(base)
        for k, v in kw.items():
            if v is KeyError:
                d.pop(k, None)
            else:
                d[k] = v
        return json.dumps(d, indent=2).encode()

    for key in ("n_layer", "n_head", "n_embd", "vocab_size", "n_positions"):
        add("cfg-%s-zero" % key, "%s = 0" % key, with_(**{key: 0}))
        add("cfg-%s-negative" % key, "%s = -1" % key, with_(**{key: -1}))
    add("cfg-n_positions-1e12", "n_positions = 10^12", with_(n_positions=10 ** 12))
    add("cfg-n_layer-1e9", "n_layer = 10^9", with_(n_layer=10 ** 9))
    add("cfg-n_embd-2p40", "n_embd = 2^40", with_(n_embd=1 << 40))
    add("cfg-vocab-2p31", "vocab_size = 2^31", with_(vocab_size=1 << 31))
    add("cfg-n_inner-1e12", "n_inner = 10^12", with_(n_inner=10 ** 12))
    add("cfg-n_head-1e300", "n_head = 1e300", with_(n_head=1e300))
    add("cfg-n_layer-2p64", "n_layer = 2^64 (integer literal)", with_(n_layer=1 << 64))
    add("cfg-at-limits", "every size at its limit, weights far smaller",
        with_(n_layer=1000, n_head=1024, n_embd=65536, n_positions=1 << 20, n_inner=1 << 20,
              vocab_size=337), expect="model.safetensors")
    for name, val in (("string", "2"), ("null", None), ("array", [2]), ("float", 2.5),
                      ("true", True), ("object", {"n": 2})):
        add("cfg-n_layer-%s" % name, "n_layer is %s" % json.dumps(val), with_(n_layer=val))
    add("cfg-n_embd-float", "n_embd = 32.5", with_(n_embd=32.5))
    add("cfg-vocab-string", 'vocab_size = "337"', with_(vocab_size="337"))
    add("cfg-not-divisible", "n_embd 32 not divisible by n_head 5", with_(n_head=5))
    for key in ("n_layer", "n_head", "n_embd", "vocab_size", "model_type"):
        add("cfg-missing-%s" % key, "no %s" % key, with_(**{key: KeyError}))
    add("cfg-missing-n_positions", "neither n_positions nor n_ctx",
        with_(n_positions=KeyError, n_ctx=KeyError))
    add("cfg-model_type-unknown", 'model_type "bert"', with_(model_type="bert"))
    add("cfg-model_type-number", "model_type is a number", with_(model_type=2))
    add("cfg-model_type-long", "model_type of 5000 characters", with_(model_type="x" * 5000))
    add("cfg-model_type-newline", "model_type holding a newline (message stays one line)",
        with_(model_type="gpt2\nmore"))
    add("cfg-activation-newline", "activation_function holding a newline",
        with_(activation_function="gelu\nnew"))
    add("cfg-too-large", "5 MiB of config (a weights file misnamed, say)",
        with_(padding="x" * (5 << 20)))
    add("cfg-activation-relu", 'activation_function "relu"', with_(activation_function="relu"))
    add("cfg-eps-zero", "layer_norm_epsilon 0", with_(layer_norm_epsilon=0))
    add("cfg-eps-string", 'layer_norm_epsilon "1e-5"', with_(layer_norm_epsilon="1e-5"))
    add("cfg-eos-outside", "eos_token_id outside the vocabulary", with_(eos_token_id=1000))
    add("cfg-eos-negative", "eos_token_id -1", with_(eos_token_id=-1))
    add("cfg-task-not-object", "gptscope_task is a string", with_(gptscope_task="x"))
    add("cfg-n_layer-3", "n_layer 3, weights have 2", with_(n_layer=3),
        expect="model.safetensors")
    add("cfg-n_layer-1", "n_layer 1, weights have 2", with_(n_layer=1),
        expect="model.safetensors")
    add("cfg-n_embd-64", "n_embd 64, weights have 32", with_(n_embd=64),
        expect="model.safetensors")
    add("cfg-vocab-338", "vocab_size 338, vocab.json has 337", with_(vocab_size=338),
        expect="vocab.json")
    add("cfg-duplicate-key", "n_layer twice",
        read("gpt2-f32", CF).replace(b'"n_layer": 2,', b'"n_layer": 2, "n_layer": 12,', 1))
    add("cfg-bad-json", "cut in the middle", read("gpt2-f32", CF)[:200])
    add("cfg-trailing", "data after the object", read("gpt2-f32", CF) + b"\n{}")
    add("cfg-bad-utf8", "invalid UTF-8 in a string value",
        read("gpt2-f32", CF).replace(b'"float32"', b'"float\xff32"', 1))
    add("cfg-bom", "a UTF-8 byte-order mark first", b"\xef\xbb\xbf" + read("gpt2-f32", CF))
    add("cfg-empty", "empty file", b"")
    add("cfg-whitespace", "only whitespace", b"   \n")
    add("cfg-array", "a JSON array", b"[1, 2]")
    add("cfg-number", "a JSON number", b"12")
    add("cfg-string", "a JSON string", b'"gpt2"')
    add("cfg-nested-array", "nested %d deep ([[[...)" % DEEP, b"[" * DEEP + b"]" * DEEP)
    add("cfg-nested-object", 'nested %d deep ({"a":{"a":...)' % DEEP,
        b'{"a":' * DEEP + b"1" + b"}" * DEEP)
    add("cfg-nested-value", "a valid config with one value nested deep",
        read("gpt2-f32", CF).replace(b'"use_cache": true', b'"use_cache": ' + b"[" * DEEP +
                                     b"]" * DEEP, 1))
    add("cfg-nul", "a NUL byte inside", read("gpt2-f32", CF).replace(b"gelu_new", b"gelu\0new", 1))
    c.add("cfg-is-dir", CF, "config.json is a directory", dirs=(CF,))
    c.add("cfg-missing-file", CF, "config.json absent", remove=(CF,))
    base1 = json.loads(read("gpt1-f32", CF))
    d = dict(base1, afn="relu")
    add("gpt1-cfg-afn-relu", 'openai-gpt afn "relu"', json.dumps(d).encode(), model="gpt1-f32")
    d = dict(base1, n_layer=0)
    add("gpt1-cfg-n_layer-zero", "openai-gpt n_layer 0", json.dumps(d).encode(),
        model="gpt1-f32")


def tokenizer_cases(c):
    VJ, MT = "vocab.json", "merges.txt"
    vtext = read("gpt2-f32", VJ)
    vocab = json.loads(vtext)
    mtext = read("gpt2-f32", MT)
    n = len(vocab)

    def vadd(cid, what, payload, expect=VJ, model="gpt2-f32"):
        c.add(cid, expect, what, base=model, files={VJ: payload})

    def madd(cid, what, payload, expect=MT, model="gpt2-f32"):
        c.add(cid, expect, what, base=model, files={MT: payload})

    def vj(d):
        return json.dumps(d, ensure_ascii=False).encode("utf-8")

    vadd("vocab-empty", "empty file", b"")
    vadd("vocab-empty-object", "{}", b"{}")
    vadd("vocab-bad-utf8", "a token string with invalid UTF-8",
         vtext.replace(b'"!": 0', b'"!\xff": 0', 1))
    vadd("vocab-bad-utf8-only", "a token that is one invalid byte",
         vtext.rstrip()[:-1] + b', "\xc0\xaf": %d}' % n)
    vadd("vocab-array", "a JSON array", b'["a", "b"]')
    vadd("vocab-number", "a JSON number", b"5")
    vadd("vocab-string", "a JSON string", b'"abc"')
    vadd("vocab-nested-array", "nested %d deep" % DEEP, b"[" * DEEP + b"]" * DEEP)
    vadd("vocab-nested-object", "nested %d deep (objects)" % DEEP,
         b'{"a":' * DEEP + b"1" + b"}" * DEEP)
    vadd("vocab-id-negative", "an id of -1", vj(dict(vocab, **{"!": -1})))
    vadd("vocab-id-duplicate", "two tokens with the same id", vj(dict(vocab, **{"!": 1})))
    vadd("vocab-id-huge", "an id of 10^12", vj(dict(vocab, **{"!": 10 ** 12})))
    vadd("vocab-id-2p64", "an id of 2^64", vj(dict(vocab, **{"!": 1 << 64})))
    vadd("vocab-id-gap", "ids with a gap (one id is n)", vj(dict(vocab, **{"!": n})))
    vadd("vocab-id-float", "an id of 2.5", vj(dict(vocab, **{"!": 2.5})))
    vadd("vocab-id-string", 'an id that is a string "0"', vj(dict(vocab, **{"!": "0"})))
    vadd("vocab-id-null", "an id that is null", vj(dict(vocab, **{"!": None})))
    vadd("vocab-id-object", "an id that is an object", vj(dict(vocab, **{"!": {"id": 0}})))
    vadd("vocab-duplicate-key", "the same token twice",
         vtext.rstrip()[:-1] + b', "!": 0}')
    vadd("vocab-missing-byte", "no token for the byte '!' (renamed)",
         vj({("!!" if k == "!" else k): v for k, v in vocab.items()}))
    vadd("vocab-trailing", "data after the object", vtext + b"x")
    vadd("vocab-bom", "a UTF-8 byte-order mark first", b"\xef\xbb\xbf" + vtext)
    # the vocabulary against the embedding: vocab_size 337 in config.json
    items = sorted(vocab.items(), key=lambda kv: kv[1])
    vadd("vocab-smaller", "one token fewer than vocab_size (<|endoftext|> dropped)",
         vj(dict(items[:-1])))
    vadd("vocab-larger", "one token more than vocab_size", vj(dict(items + [("zzqq", n)])))
    c.add("vocab-is-dir", VJ, "vocab.json is a directory", dirs=(VJ,))
    c.add("vocab-missing-file", VJ, "vocab.json absent", remove=(VJ,))

    # merges.txt; real GPT-2 files begin "#version: 0.2" (/work/shared/data/gpt2)
    lines = mtext.decode("utf-8").split("\n")
    madd("merges-empty", "empty file (an interrupted download)", b"")
    madd("merges-bad-utf8", "invalid UTF-8 in a symbol", mtext.replace(b"h e", b"h \xff", 1))
    madd("merges-unknown-token", "a merge naming a token not in the vocabulary",
         mtext + "qqq zzz\n".encode())
    madd("merges-not-in-vocab", "a merge whose result is not a token",
         mtext + b"z q\n")
    madd("merges-one-field", "a line with one field", mtext + b"abc\n")
    madd("merges-three-fields", "a line with three fields", mtext + b"h e x\n")
    madd("merges-nul", "a NUL byte in a line", mtext.replace(b"h e", b"h\0e", 1))
    madd("merges-no-version", "no #version line (all lines are merges, as tokenizers reads it)",
         "\n".join(lines[1:]).encode("utf-8"), expect="ok")
    madd("merges-crlf", "CRLF line ends", mtext.replace(b"\n", b"\r\n"), expect="ok")
    madd("merges-version-only", "only the #version line (no merges: bytes only)",
         b"#version: 0.2\n", expect="ok")
    madd("merges-binary", "binary data (weights copied over it)",
         read("gpt2-f32", "model.safetensors")[:4096])
    c.add("merges-is-dir", MT, "merges.txt is a directory", dirs=(MT,))
    c.add("merges-missing-file", MT, "merges.txt absent", remove=(MT,))

    # GPT-1
    v1 = json.loads(read("gpt1-f32", VJ))
    m1 = read("gpt1-f32", MT)
    vadd("gpt1-vocab-smaller", "openai-gpt vocabulary one token short",
         vj(dict(sorted(v1.items(), key=lambda kv: kv[1])[:-1])), model="gpt1-f32")
    vadd("gpt1-vocab-bad-utf8", "openai-gpt vocabulary with invalid UTF-8",
         read("gpt1-f32", VJ).replace(b'"t', b'"\xfe', 1), model="gpt1-f32")
    madd("gpt1-merges-unknown", "openai-gpt merge naming an unknown symbol",
         m1 + b"qq zz</w>\n", model="gpt1-f32")
    madd("gpt1-merges-three", "openai-gpt merge line with three fields",
         m1 + b"t h e\n", model="gpt1-f32")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_hostile_models.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    c = Cases(out)
    safetensors_cases(c)
    config_cases(c)
    tokenizer_cases(c)
    c.write_index()
    print("%d cases in %s" % (len(c.rows), out))


if __name__ == "__main__":
    main()
