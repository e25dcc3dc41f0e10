"""rapidyaml's fast path gives what PyYAML gives, or leaves the document to PyYAML."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway_contour.providers.fast_documents import decode_batch

# quotes and backslashes must come through the JSON as they were
QUOTED = "a: 'x\"y\\z'\nb: 'a\\nb'\nc: x\\ny\nd: \"q\\\"r\"\ne: c:\\path\\to\n"
TRICKY = [
    QUOTED,
    "a: 1\nb: 0x1F\nc: 010\nd: 1.5\ne: yes\nf: on\ng: true\nh: ~\ni: null\nj:\nk: '1'\n",
    'l: "x\\ty"\nm: 2001-12-14\nn: .inf\no: 1_000\np: -0\nq: 0o17\nr: True\ns: NULL\n',
    "t: |\n  multi\n  line\nu: >\n  folded\n  text\nv: !!str 5\nw: [1, two, {x: y}]\nz: 1e3\n",
    "a: &x [1, 2]\nb: *x\n",
    "base: &b {p: 1}\nm:\n  <<: *b\n  q: 2\n",
    "a: 1\na: 2\n",
    "80: http\n? yes\n: no\n",
    "a: 12:30:00\nb: 190:20:30\n",
    "kept: |+\n  x\n\nstrip: |-\n  y\n",
    "s: 'it''s'\nd: \"\\u00e9\\x41\\N\"\nplain: é ü\n",
    "a: b\n...\n",
    "a:\n\tb: 1\n",
    "\ufeffa: 1\n",
    "%YAML 1.1\n",
    "a: !custom x\n",
    "list:\n- a\n-   - b\n    - c\n- {k: v}\n",
    "empty: ''\nquoted: \"\"\nspace: ' '\n",
    "multi: this is\n  a plain scalar\n  over lines\n",
    "url: http://x/a?b=c&d=*\npath: /api/*\nhost: '*.example.com'\n",
    "a: [\n",
    "a: {b: 1\n",
    "- not\n- a mapping\n",
    "just a scalar\n",
    "# only a comment\n",
    "",
    "k: v # comment\n# trailing\n",
    "n: -12\np: +12\nbig: 123456789012345678901234567890\n",
    "a: " + "[" * 70 + "]" * 70 + "\n",
    'a: "\\u0001"\nb: \'\\u0041\'\nc: "tab\\there"\nd: "\\/"\n',
    'a: |\n  back\\slash "q"\n',
]


def pyyaml(chunk: str) -> Any:
    try:
        return yaml.load(chunk, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return "error"


def test_tricky_documents_are_read_as_pyyaml_reads_them_or_left_to_it() -> None:
    fast = decode_batch(TRICKY)
    for chunk, value in zip(TRICKY, fast, strict=True):
        if value is not None:
            assert value == pyyaml(chunk), chunk
    # the ordinary ones do take the fast path
    assert fast[TRICKY.index("list:\n- a\n-   - b\n    - c\n- {k: v}\n")] is not None
    assert fast[TRICKY.index("k: v # comment\n# trailing\n")] is not None
    assert fast[TRICKY.index(QUOTED)] == pyyaml(QUOTED)


def test_one_broken_document_leaves_the_others_on_the_fast_path() -> None:
    chunks = [f"kind: Service\nmetadata: {{name: s{i}}}\n" for i in range(50)]
    chunks[20] = "kind: [\n"
    chunks[33] = "a:\n  - b\n c: d\n"
    fast = decode_batch(chunks)
    assert [i for i, value in enumerate(fast) if value is None] == [20, 33]
    assert fast[49] == {"kind": "Service", "metadata": {"name": "s49"}}


SCALAR_CHARS = st.sampled_from(list("0123456789+-._:eExXoObB yYnNtTfF~<=*&!'\"#a\\"))
SCALARS = st.one_of(
    st.text(SCALAR_CHARS, min_size=0, max_size=8),
    st.sampled_from(["yes", "No", "ON", "off", "null", "Null", "~", ".inf", "-.Inf", ".NaN"]),
    st.sampled_from(["2001-12-14", "2001-12-14t21:59:43.10-05:00", "0b101", "0o7", "1:20"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(SCALARS, min_size=1, max_size=4))
def test_scalars_are_read_as_pyyaml_reads_them_or_left_to_it(scalars: list[str]) -> None:
    chunks = [f"a: {s}\n" for s in scalars] + [f"- {s}\n" for s in scalars]
    chunks += [f"{s}: v\n" for s in scalars] + ["m: [" + ", ".join(scalars) + "]\n"]
    for chunk, value in zip(chunks, decode_batch(chunks), strict=True):
        expected = pyyaml(chunk)
        # a few texts libyaml refuses, YAML 1.2 allows (`[:0]`): those may be read as 1.2 does
        if value is not None and expected != "error":
            assert value == expected, chunk


def test_the_depth_bound_is_the_one_pyyaml_reading_has() -> None:
    """64 levels pass, 65 are left to PyYAML (which reports them): the emitter alone let a
    65th level by when the innermost list was empty."""
    for inner in ("", "1"):
        at_bound = "a: " + "[" * 63 + inner + "]" * 63 + "\n"
        beyond = "a: " + "[" * 64 + inner + "]" * 64 + "\n"
        assert decode_batch([at_bound, beyond])[0] is not None
        assert decode_batch([at_bound, beyond])[1] is None
