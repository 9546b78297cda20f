"""What mailtool prints for people to publish passes mailtool's own policy checks:
DKIM TXT values in <= 255-octet strings a zone parser accepts (issue 19 point 9),
an MTA-STS id that is valid and changes only with the policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dns.zone
from click.testing import CliRunner

from mailtool.cli.main import cli
from mailtool.dns.zone import mail_records
from mailtool.policy.dkim_key import parse_key_record
from mailtool.policy.mtasts import record_problems


def run(data: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args])
    assert result.exit_code == 0, result.output
    return result.output


def parse_zone(lines: list[str]) -> dns.zone.Zone:
    text = "$ORIGIN example.test.\n$TTL 3600\n@ IN SOA ns hostmaster 1 7200 900 1209600 3600\n"
    text += "@ IN NS ns\n" + "\n".join(lines) + "\n"
    return dns.zone.from_text(text, relativize=False)


def test_keygen_and_list_print_strings_a_zone_parser_accepts(tmp_path: Path) -> None:
    out = run(tmp_path, "dkim", "keygen", "example.test", "--algorithm", "rsa")
    line = next(x for x in out.splitlines() if " IN TXT " in x)
    strings = re.findall(r'"([^"]*)"', line)
    assert len(strings) >= 2 and all(len(s) <= 255 for s in strings)  # RSA 2048: ~410 chars
    zone = parse_zone([line])
    rdata = zone.find_rdataset("mailtool._domainkey.example.test.", "TXT")[0]
    value = b"".join(rdata.strings).decode()
    record = parse_key_record(value)
    assert (record.description, record.problems) == ("RSA 2048 bits", ())
    listed = run(tmp_path, "dkim", "list")
    name, _alg, quoted = listed.split(None, 2)
    assert re.findall(r'"([^"]*)"', quoted) == strings
    parse_zone([f"{name}. IN TXT {quoted}"])
    made = json.loads(run(tmp_path, "dkim", "list", "--json"))
    assert made[0]["txt_strings"] == strings and "".join(strings) == made[0]["txt"]


def sts_value(snippet) -> str:
    records = [r for r in snippet.to_json()["records"] if r["name"].startswith("_mta-sts.")]
    return records[0]["value"].strip('"')


def test_the_mta_sts_id_is_valid_and_follows_the_policy() -> None:
    first = mail_records("example.test", "mx.example.test")
    again = mail_records("example.test", "mx.example.test")
    assert sts_value(first) == sts_value(again)  # not the time: stable between runs
    assert record_problems(sts_value(first)) == []  # RFC 8461 §3.1: 1-32 alphanumerics
    assert sts_value(first) in first.to_zone()
    first.mta_sts_policy = first.mta_sts_policy.replace("mode: testing", "mode: enforce")
    assert sts_value(first) != sts_value(again)  # a new policy, a new id
    assert record_problems(sts_value(first)) == []
