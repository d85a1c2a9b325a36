"""Tiny SST-2 and Tiny Shakespeare files in the upstream layouts, for tests that must not need the real data."""
import numpy as np

POS = ["good", "great", "moving", "funny", "beautiful", "gripping", "superb"]
NEG = ["bad", "dull", "boring", "awful", "tedious", "clumsy", "lifeless"]
FILL = ["the", "film", "a", "story", "is", "and", "acting", "its", "plot", "director", "'s", ","]


def _sentence(rng, label):
    words = list(rng.choice(FILL, size=rng.integers(2, 9)))
    cue = POS if label else NEG
    for _ in range(rng.integers(1, 3)):
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(cue)))
    return " ".join(words)


def write_sst2(root, n_train=300, n_dev=40, n_test=60, seed=0):
    """``root`` gets the four SST-2 files: stsa.binary.{train,dev,test} ("label sentence", LF) and
    glue-train.tsv (header, label TAB phrase, CRLF) with the training sentences and some of their phrases."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    splits = {}
    for name, n in (("train", n_train), ("dev", n_dev), ("test", n_test)):
        labels = rng.integers(0, 2, size=n)
        splits[name] = [(int(y), _sentence(rng, y)) for y in labels]
        (root / f"stsa.binary.{name}").write_text("".join(f"{y} {s}\n" for y, s in splits[name]), encoding="utf-8")
    rows = ["label\tsentence"]
    for y, s in splits["train"]:
        rows.append(f"{y}\t{s}")
        words = s.split()
        cue = [w for w in words if w in (POS if y else NEG)]
        rows.append(f"{y}\t{cue[0]}")  # a sub-phrase: the cue word alone
    rows.append(f"{splits['test'][0][0]}\t{splits['test'][0][1]}")  # one phrase equal to a test sentence
    (root / "glue-train.tsv").write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8"))
    return splits


def write_shakespeare(root, repeats=40):
    root.mkdir(parents=True, exist_ok=True)
    verse = ("ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n"
             "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\n\n")
    text = verse * repeats
    (root / "input.txt").write_text(text, encoding="utf-8")
    return text


_DE = "Hund Katze Mann Frau Kind läuft springt sitzt auf im Park Straße rot blau groß klein".split()
_EN = "dog cat man woman child runs jumps sits on in park street red blue big small".split()


def write_multi30k(root, train=150, val=10, test=10, seed=0):
    """Multi30k's six gzipped files (train/val/test_2016_flickr x de/en) of a toy word-for-word language pair."""
    import gzip
    from pathlib import Path
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("val", val), ("test_2016_flickr", test)):
        idx = [rng.integers(0, len(_DE), rng.integers(2, 6)) for _ in range(n)]
        for lang, words, first in (("de", _DE, "Ein"), ("en", _EN, "A")):
            text = "".join(first + " " + " ".join(words[i] for i in s) + ".\n" for s in idx)
            (root / f"{split}.{lang}.gz").write_bytes(gzip.compress(text.encode("utf-8")))
