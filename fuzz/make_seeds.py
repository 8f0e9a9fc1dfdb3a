#!/usr/bin/env python3
"""Regenerate the checked-in seed corpora of fuzz/corpus/<target>/ (small, hand-picked inputs).

Sources: the peer fixtures (../shared/fixtures), the repo's configs/, data/theorems/, data/catalog/,
data/annotate/, tests/data/adapters, the scripted teacher's answers (tests/annotate/teacher_server.hpp),
and a `tsft gen` output directory (GEN_DIR, e.g. from `tsft gen --config configs/gen_smoke.toml --corpus`).
Usage: python3 fuzz/make_seeds.py GEN_DIR.  Selector bytes: see each fuzz_<target>.cpp.
"""
import glob, json, os, shutil, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "..", "shared", "fixtures")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors_seeds():
    """Fixture headers with every tensor shrunk to <= 2 elements per dim (realistic names, tiny data)."""
    sizes = {"F64": 8, "F32": 4, "BF16": 2, "F16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    files = sorted(glob.glob(os.path.join(FIX, "hf", "*", "*.safetensors")))
    for path in files[:6]:
        raw = open(path, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        hdr = json.loads(raw[8 : 8 + n])
        out, off = {}, 0
        if "__metadata__" in hdr:
            out["__metadata__"] = hdr.pop("__metadata__")
        for name, t in sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0])[:8]:
            shape = [min(d, 2) for d in t["shape"]]
            nb = sizes[t["dtype"]] * max(1, eval("*".join(map(str, shape))) if shape else 1)
            out[name] = {"dtype": t["dtype"], "shape": shape, "data_offsets": [off, off + nb]}
            off += nb
        js = json.dumps(out, separators=(",", ":")).encode()
        js += b" " * (-len(js) % 8)
        name = os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path)
        put("safetensors", name, struct.pack("<Q", len(js)) + js + bytes(range(off % 256)) * (off // 256) + bytes(off % 256))


def small_tokenizer(path, keep):
    d = json.load(open(path))
    vocab = {k: v for k, v in d["model"]["vocab"].items() if v < keep}
    d["model"]["vocab"] = vocab
    merges = d["model"]["merges"]
    ok = lambda m: all(p in vocab for p in (m.split(" ") if isinstance(m, str) else m))
    d["model"]["merges"] = [m for m in merges if ok(m)][:40]
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def tokenizer_seeds():
    for base in ("qwen2", "llama3"):
        src = os.path.join(FIX, "tokenizers", "hf-trained", base + "-bpe1500.tokenizer.json")
        put("tokenizer", base + "-small.json", small_tokenizer(src, 300))
    shutil.copy(os.path.join(FIX, "tokenizers", "hf-trained", "qwen2-bpe1500.tokenizer.json"),
                os.path.join(CORPUS, "tokenizer", "hf-qwen2-bpe1500.json"))


def chat_seeds():
    conv = "system:You are terse.\nuser:What is 2+3?\nassistant:5\tadd them\nuser:And 4*4?\nassistant:16"
    for sel in (0, 0x13, 0x23, 0x64, 0x95, 0x16):
        put("chat", "conv-%02x" % sel, bytes([sel]) + conv.encode())
    for jinja in glob.glob(os.path.join(FIX, "tokenizers", "*", "chat_template.jinja")):
        put("chat", os.path.basename(os.path.dirname(jinja)) + ".jinja", b"\x00" + open(jinja, "rb").read()[:3000])


def head_lines(path, n):
    with open(path) as f:
        return "".join(f.readlines()[:n])


def jsonl_seeds(gen_dir):
    formats = ["math", "gsm8k", "gsm_plus", "gsm1k", "geoqa", "unigeo", "theoremqa", "agieval", "omni_math"]
    n_readers = 3 + len(formats)  # problems, grade, train data, then adapter_formats() in order
    for f in sorted(glob.glob(os.path.join(gen_dir, "problems", "*.jsonl")))[:6]:
        put("jsonl", "problems-" + os.path.basename(f), b"\x00" + head_lines(f, 2).encode())
    cases = open(os.path.join(FIX, "math_equiv", "cases.jsonl")).read().splitlines()
    put("jsonl", "grade", b"\x01" + "\n".join(cases[:6]).encode())
    chat = json.dumps({"id": "a", "messages": [{"role": "user", "content": "2+2?"},
                                                {"role": "assistant", "content": "4"}]})
    pc = json.dumps({"prompt": "Say hi", "completion": "hi"})
    for sel in (2, 2 + n_readers * 3):
        put("jsonl", "sft-%d" % sel, bytes([sel]) + (chat + "\n" + pc + "\n").encode())
    corpus = head_lines(os.path.join(gen_dir, "corpus.jsonl"), 2)
    put("jsonl", "text-jsonl", bytes([2 + n_readers * 4]) + corpus.encode())
    stem_format = {"agieval_math": "agieval", "math500": "math", "gsm8k_bad": "gsm8k"}
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "adapters", "*"))):
        stem = os.path.basename(f).split(".")[0]
        fmt = stem_format.get(stem, stem)
        if fmt in formats:
            put("jsonl", "adapter-" + os.path.basename(f), bytes([3 + formats.index(fmt)]) + open(f, "rb").read())


def toml_seeds():
    for f in sorted(glob.glob(os.path.join(ROOT, "configs", "*.toml"))):
        put("toml", "gen-" + os.path.basename(f), b"\x00" + open(f, "rb").read())
    for f in sorted(glob.glob(os.path.join(ROOT, "data", "theorems", "*.toml"))):
        sel = b"\x02" if os.path.basename(f) == "world.toml" else b"\x01"
        put("toml", "catalog-" + os.path.basename(f), sel + open(f, "rb").read())


def latex_seeds():
    for i, line in enumerate(open(os.path.join(FIX, "math_equiv", "cases.jsonl"))):
        c = json.loads(line)
        if i % 3 == 0:  # a third of the 429 cases is plenty of variety
            put("latex", "case-%03d" % i, c["gold"] + "\n" + c["pred"])


def annotate_seeds():
    cat = open(os.path.join(ROOT, "data", "catalog", "competition_math.toml")).read()
    put("annotate_catalog", "competition_math.toml", cat)
    head, *entries = cat.split("[[theorem]]")
    for i in range(0, len(entries), 20):  # smaller catalogs: quicker to mutate
        put("annotate_catalog", "part-%02d.toml" % (i // 20), head + "".join("[[theorem]]" + e for e in entries[i : i + 3]))
    prompt = open(os.path.join(ROOT, "data", "annotate", "prompt.toml")).read()
    put("annotate_prompt", "prompt.toml", prompt)
    put("annotate_prompt", "no-system.toml", prompt[prompt.index("user = "):])
    problem = "Case valid: A baker fills 6 trays with 14 rolls each and sells 50 rolls. How many rolls are left?"
    valid = ("Step 1.\nTheorem: Total of equal groups.\nCond: every tray holds the same number of rolls: holds.\n"
             "Map: n = number of trays = 6\nMap: k = rolls per tray = 14\n6 * 14 = 84 rolls.\nStep 2.\n"
             "Theorem: Remainder after removal.\nCond: 50 is at most 84: holds.\nMap: T = 84 (from step 1)\n"
             "Map: r = 50\n84 - 50 = 34 rolls are left.\n\\boxed{34}")
    variants = {"valid": valid, "wrong": valid.replace("\\boxed{34}", "\\boxed{35}"),
                "unknown": valid.replace("Total of equal groups", "Grouping lemma"),
                "unparsable": "The baker has 34 rolls left.", "map": valid.replace("= 14", "= 15"),
                "single-step": "Theorem: Total of equal groups.\nCond: equal trays: holds.\nMap: n = 6\n"
                               "Map: k = 14 (asked)\n6 * 14 = 84\n\\boxed{84}"}
    for name, text in variants.items():
        put("annotate_validate", name, ("84" if name == "single-step" else "34") + "\n" + problem + "\n" + text)
    put("annotate_validate", "frac", "\\frac{7}{8}\nWhat is 7/8 of 1?\nTheorem: Equal sharing.\nCond: n is not zero: holds.\n"
        "Map: T = 7\nMap: n = 8\n7 / 8 = \\frac{7}{8}\n\\boxed{\\frac{7}{8}}")


def adapter_seeds():
    formats = ["math", "gsm8k", "gsm_plus", "gsm1k", "geoqa", "unigeo", "theoremqa", "agieval", "omni_math"]
    stem_format = {"agieval_math": "agieval", "math500": "math", "gsm8k_bad": "gsm8k", "gsm8k_noanswer": "gsm8k"}
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "adapters", "*"))):
        stem = os.path.basename(f).split(".")[0]
        fmt = stem_format.get(stem, stem)
        if fmt not in formats:
            continue
        text = open(f).read()
        try:
            recs = json.loads(text)
            recs = recs if isinstance(recs, list) else [recs]
        except ValueError:  # JSONL (a bad line of gsm8k_bad is left out: fuzz_jsonl has it)
            recs = []
            for line in text.splitlines():
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    pass
        for i, r in enumerate(recs[:3]):
            put("adapters", "%s-%d" % (stem, i), bytes([formats.index(fmt)]) + json.dumps(r).encode())


def serve_seeds():
    chat = {"model": "m", "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+3?"}]}
    bodies = {
        "chat": (0x3F & ~1 | 1, chat),
        "chat-all": (0x39, dict(chat, max_tokens=8, temperature=0.5, top_p=0.9, seed=3, n=2, stop=["\n", "."],
                                logprobs=True, top_logprobs=2, stream=True, stream_options={"include_usage": True})),
        "chat-parts": (0x23, {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                              "max_completion_tokens": 4}),
        "completion": (0x38, {"model": "m", "prompt": "Once upon", "max_tokens": 5, "echo": True, "logprobs": 2,
                              "stop": "."}),
        "completion-ids": (0x30, {"model": "m", "prompt": [1, 2, 3, 40], "n": 3, "seed": -1}),
        "completion-list": (0x28, {"model": "m", "prompt": ["one string"], "stream": False}),
    }
    for name, (sel, body) in bodies.items():
        put("serve_request", name, bytes([sel]) + json.dumps(body).encode())


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    safetensors_seeds()
    for cfg in glob.glob(os.path.join(FIX, "hf", "*", "config.json")):
        put("model_config", os.path.basename(os.path.dirname(cfg)) + ".json", open(cfg, "rb").read())
    tokenizer_seeds()
    chat_seeds()
    jsonl_seeds(sys.argv[1])
    toml_seeds()
    latex_seeds()
    annotate_seeds()
    adapter_seeds()
    serve_seeds()
