"""Hypothesis strategies for "any bytes" properties: plain random bytes rarely
hit the interesting shapes (a CR inside a line, a code followed by a hyphen), so
these mix random bytes with fragments of the protocols' own syntax."""

from hypothesis import strategies as st

FRAGMENTS = [
    b"\r\n",
    b"\r",
    b"\n",
    b".",
    b" ",
    b"-",
    b":",
    b"<",
    b">",
    b"@",
    b"[",
    b"]",
    b'"',
    b"\\",
    b"=",
    b",",
    b"+",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b"250",
    b"550",
    b"2.1.0",
    b"5.1.1",
    b"+OK",
    b"-ERR",
    b"[AUTH]",
    b"[SYS/TEMP]",
    b"MAIL FROM:",
    b"RCPT TO:",
    b"SIZE=",
    b"SMTPUTF8",
    b"IPv6:",
    b"::1",
    b"1.2.3.4",
    b"postmaster",
    b"n,,",
    b"n=",
    b"r=",
    b"s=",
    b"i=",
    b"c=",
    b"p=",
    b"v=",
    b"biws",
    b"RETR",
    b"TOP",
    b"1",
    b"0",
    b"a",
    b"AUTH",
]


def wire(max_parts: int = 40) -> st.SearchStrategy[bytes]:
    part = st.sampled_from(FRAGMENTS) | st.binary(min_size=1, max_size=8)
    return st.lists(part, max_size=max_parts).map(b"".join)
