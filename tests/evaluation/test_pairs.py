"""Pairs files (issue 16.5): labels in words, an unknown label refused by line, one kind of pair refused."""

import pytest

from tfface.errors import DataError
from tfface.evaluation.pairs import read_csv_pairs


@pytest.mark.parametrize("word,same", [("yes", True), ("no", False), ("True", True), ("false", False), ("1", True),
                                       ("0", False)])
def test_pair_labels_in_words_are_read(tmp_path, word, same):
    rows = [f"a.png,b.png,{word}"] + [f"a.png,b.png,{1 - int(same)}"] * 10
    (tmp_path / "p.csv").write_text("path1,path2,same\n" + "\n".join(rows) + "\n")
    assert bool(read_csv_pairs(tmp_path / "p.csv").same[0]) is same


def test_an_unknown_pair_label_is_refused(tmp_path):
    (tmp_path / "p.csv").write_text("path1,path2,same\n" + "a.png,b.png,maybe\n" + "a.png,b.png,1\n" * 10)
    with pytest.raises(DataError, match="p.csv line 2: `same=maybe`"):
        read_csv_pairs(tmp_path / "p.csv")


def test_pairs_of_one_kind_are_refused(tmp_path):
    (tmp_path / "p.csv").write_text("path1,path2,same\n" + "a.png,b.png,1\n" * 20)
    with pytest.raises(DataError, match="20 genuine and 0 impostor pairs"):
        read_csv_pairs(tmp_path / "p.csv")
