"""`keeper tax lots` and `keeper tax report` from a lots CSV, through the real click group."""

from click.testing import CliRunner

from keeper.cli import main

HISTORY = """date,type,asset,kind,account,quantity,decimals,amount,fee,to_account,lot_id,note
2024-01-02,buy,X,security,brk,100,0,1000,,,b1,
2024-03-01,sell,X,security,brk,100,0,750,,,,
2024-03-15,buy,X,security,brk,100,0,800,,,b2,
2024-06-03,sell,X,security,brk,50,0,600,,,,
2023-01-05,buy,BTC,crypto,cb,1,8,20000,,,c1,
2024-02-01,sell,BTC,crypto,cb,0.5,8,21000,,,,
"""


def run(tmp_path, *args):
    path = tmp_path / "lots.csv"
    path.write_text(HISTORY)
    return CliRunner().invoke(main, [a.replace("LOTS", str(path)) for a in args])


def test_tax_lots__history_with_wash_sale__shows_adjusted_replacement_lot(tmp_path):
    result = run(tmp_path, "tax", "lots", "--lots", "LOTS", "--price", "X=9")
    assert result.exit_code == 0, result.output
    assert "b2/w1" in result.output and "525.00" in result.output  # 50 of 100 at $1,050
    assert "0.5" in result.output and "10,000.00" in result.output  # the BTC left


def test_tax_report__us_year__categories_wash_adjustment_and_estimate(tmp_path):
    result = run(tmp_path, "tax", "report", "--year", "2024", "--lots", "LOTS")
    assert result.exit_code == 0, result.output
    assert "short term" in result.output and "long term" in result.output
    assert "250.00" in result.output  # disallowed loss
    assert "estimated tax: 1,668.00 USD" in result.output  # 11,000 x 15% + 75 x 24%


def test_tax_report__form_8949_to_stdout__rows_with_code_w(tmp_path):
    result = run(tmp_path, "tax", "report", "--year", "2024", "--lots", "LOTS", "--form-8949", "-")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert (
        lines[0] == "part,description,date_acquired,date_sold,proceeds,cost_basis,code,adjustment,"
        "gain_or_loss"
    )
    assert "I,100 X,01/02/2024,03/01/2024,750.00,1000.00,W,250.00,0.00" in lines


def test_tax_report__form_8949_for_germany__one_line_error_exit_2(tmp_path):
    result = run(
        tmp_path,
        "tax",
        "report",
        "--year",
        "2024",
        "--lots",
        "LOTS",
        "-j",
        "de",
        "--form-8949",
        "-",
    )
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "error: Form 8949 is a US form; the profile is DE: use --jurisdiction us"
    )


def test_tax_lots__bad_row__one_line_error_with_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HISTORY.splitlines()[0] + "\n2024-01-02,buy,X,security,brk,ten,0,1000,,,,\n")
    result = CliRunner().invoke(main, ["tax", "lots", "--lots", str(path)])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "error: bad.csv:2: quantity: 'ten' is not a number; write it like 0.25"
    )


def test_tax_lots__uk__section_104_pool(tmp_path):
    result = run(tmp_path, "tax", "lots", "--lots", "LOTS", "-j", "uk")
    assert result.exit_code == 0, result.output
    assert "s104:X" in result.output and "s104:BTC" in result.output
