import gzip

import pytest

from sgtk.data.csv_table import read_csv_rows
from sgtk.errors import ConfigError, SgtkError
from sgtk.io.files import open_text, read_text


def test_bom_is_dropped_from_the_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffsmiles,y\r\nCCO,1.5\r\n".encode())
    table = read_csv_rows(path)
    assert table.columns == ["smiles", "y"]
    assert table.rows == [["CCO", "1.5"]]


@pytest.mark.parametrize("delimiter,name", [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_delimiter_is_detected_and_named(tmp_path, delimiter, name):
    path = tmp_path / "m.csv"
    path.write_text(f"smiles{delimiter}y\nCCO{delimiter}1,5\n")
    table = read_csv_rows(path)
    assert table.delimiter == delimiter and table.delimiter_name == name
    assert table.columns == ["smiles", "y"]


def test_given_delimiter_overrides_detection(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a;b,c\n1;2,3\n")  # detection would pick either; the flag decides
    assert read_csv_rows(path, delimiter=",").columns == ["a;b", "c"]
    assert read_csv_rows(path, delimiter="semicolon").columns == ["a", "b,c"]
    with pytest.raises(ConfigError) as e:
        read_csv_rows(path, delimiter="|")
    assert e.value.field == "delimiter" and str(e.value).startswith("delimiter '|' is not")


def test_gzip_is_read_as_a_stream(tmp_path):
    path = tmp_path / "m.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\ufeffsmiles;y\nCCO;1\nc1ccccc1;2\n")
    table = read_csv_rows(path)
    assert table.delimiter == ";" and table.column("smiles") == ["CCO", "c1ccccc1"]
    with open_text(path) as f:
        assert f.readline() == "smiles;y\n"


def test_a_fake_gz_is_one_line(tmp_path):
    path = tmp_path / "m.txt.gz"
    path.write_text("plain text")
    with pytest.raises(SgtkError, match="not gzip"):
        open_text(path)


def test_path_problems_are_named(tmp_path, monkeypatch):
    with pytest.raises(SgtkError, match="does not exist"):
        open_text(tmp_path / "missing.csv")
    with pytest.raises(SgtkError, match="is a directory"):
        open_text(tmp_path)
    locked = tmp_path / "locked.csv"
    locked.write_text("a\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)  # root ignores chmod, so fake the refusal
    with pytest.raises(SgtkError, match="cannot be read"):
        open_text(locked)


def test_bad_bytes_are_one_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9\n")
    with pytest.raises(SgtkError, match="not UTF-8"):
        read_text(path)


def test_a_path_error_names_the_config_field_the_path_came_from(tmp_path):
    """``data`` by default, or the field the caller names; a front end shows its flag."""
    for call, field in ((lambda: read_text(tmp_path / "gone.txt"), "data"),
                        (lambda: open_text(tmp_path, "quality"), "quality")):  # fmt: skip
        with pytest.raises(ConfigError) as e:
            call()
        message = str(e.value)
        assert e.value.field == field and message.startswith(f"{field} {tmp_path}"), message
        assert "--" not in message, message
