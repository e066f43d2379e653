#!/usr/bin/python3
"""Size limits of the product code (issue 12): no file over 800 lines, no function over 150.

Scans core/, ui/ and app/ (.cpp and .h) under --root and prints each offender with its size; exits 1
when there is one. A function is measured from the line where its signature starts to its closing
brace; lambdas count towards the function that holds them. The scan matches braces with comments,
string and character literals and preprocessor lines skipped: good enough for this code base, where
no brace is hidden in a macro. --self-test checks the scanner on planted files first.
"""
import argparse
import os
import re
import sys
import tempfile

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 150
PRODUCT_DIRS = ("core", "ui", "app")
EXTENSIONS = (".cpp", ".h")


def strip_code(text):
    """The text with comments, literals and preprocessor lines blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":
            # A preprocessor line, with its continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        line_start = False
        if c == "\n":
            out.append(c)
            line_start = True
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" ")
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == "R" and i + 1 < n and text[i + 1] == '"' and not _ident_char(text, i - 1):
            m = re.match(r'R"([^ ()\\\t\n]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            close = ")" + m.group(1) + '"'
            end = text.find(close, i + m.end())
            end = n if end < 0 else end + len(close)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:end]))
            i = end
        elif c == '"' or (c == "'" and not _digit_separator(text, i)):
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _ident_char(text, i):
    return i >= 0 and (text[i].isalnum() or text[i] == "_")


def _digit_separator(text, i):
    """A ' inside a number (1'000'000) rather than a character literal."""
    j = i - 1
    while j >= 0 and (text[j].isalnum() or text[j] in "_."):
        j -= 1
    token = text[j + 1:i]
    return bool(token) and token[0].isdigit()


SCOPE_KEYWORDS = {"namespace", "class", "struct", "union", "enum", "extern"}


def _header_kind(header):
    """'scope' for namespace/class bodies, 'function' for bodies after a parameter list, else 'other'."""
    h = re.sub(r"\b(public|private|protected|signals|slots|Q_SLOTS|Q_SIGNALS)\s*:(?!:)", " ", header)
    h = re.sub(r"\[\[.*?\]\]", " ", h).strip()
    # template <...> prefixes
    while h.startswith("template"):
        k = h.find("<")
        if k < 0:
            break
        depth = 0
        for j in range(k, len(h)):
            if h[j] == "<":
                depth += 1
            elif h[j] == ">":
                depth -= 1
                if depth == 0:
                    h = h[j + 1:].strip()
                    break
        else:
            break
    words = re.findall(r"[A-Za-z_]\w*", h)
    if words and words[0] in SCOPE_KEYWORDS:
        return "scope"
    if words and words[0] in ("inline",) and len(words) > 1 and words[1] == "namespace":
        return "scope"
    return "function" if "(" in h else "other"


def _function_name(header):
    h = re.sub(r"\[\[.*?\]\]", " ", header)
    m = re.search(r"((?:[A-Za-z_~]\w*\s*(?:<[^()]*?>)?\s*::\s*)*(?:operator\s*[^\s(]+|operator\s*\(\)|~?[A-Za-z_]\w*))\s*\(", h)
    return re.sub(r"\s+", "", m.group(1)) if m else h.strip().split("\n")[-1][:60]


def find_functions(text):
    """(name, first line, last line) of each outermost function body in the text."""
    code = strip_code(text)
    functions = []
    stack = []  # kinds of the open braces
    header_start = 0  # offset where the current declaration began
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        in_scope = all(kind == "scope" for kind in stack)
        if c == "{" and in_scope:
            header = code[header_start:i]
            kind = _header_kind(header)
            depth, j = 0, i
            if kind == "function":
                # Walk to the matching brace.
                while j < n:
                    if code[j] == "{":
                        depth += 1
                    elif code[j] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                nxt = code[j + 1:].lstrip()[:1]
                if nxt in (",", "{") and re.search(r"\)[^()]*:[^:]", header):
                    # A member initialiser brace (m_{x},) before the body: part of the header.
                    i = j + 1
                    continue
                first = header_start + len(header) - len(header.lstrip())
                first_line = code.count("\n", 0, first) + 1
                last_line = code.count("\n", 0, j) + 1
                functions.append((_function_name(header), first_line, last_line))
                i = j + 1
                header_start = i
                continue
            stack.append(kind)
            header_start = i + 1
        elif c == "{":
            stack.append("other")
        elif c == "}":
            if stack:
                stack.pop()
            if all(kind == "scope" for kind in stack):
                header_start = i + 1
        elif c == ";" and in_scope:
            header_start = i + 1
        i += 1
    return functions


def product_files(root):
    for top in PRODUCT_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(EXTENSIONS):
                    yield os.path.join(dirpath, name)


def offenders(root, files=None):
    found = []
    for path in files if files is not None else product_files(root):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        rel = os.path.relpath(path, root)
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if lines > MAX_FILE_LINES:
            found.append(f"{rel}: file has {lines} lines (limit {MAX_FILE_LINES})")
        for name, first, last in find_functions(text):
            length = last - first + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{rel}:{first}: function {name} has {length} lines "
                             f"(limit {MAX_FUNCTION_LINES})")
    return found


def _planted_function(name, lines, signature="int {}(int x)"):
    """A function of exactly `lines` lines with braces hidden in strings and comments."""
    body = [signature.format(name) + "", "{"]
    filler = [
        '    const char* s = "{ not a brace }";  // nor } this {',
        "    /* { */ x += 1; /* } */",
        "    char c = '{'; x += c == '}' ? 1 : 0;",
        "    x += 1'000;",
        '    auto r = R"x(})x";',
        "    if (x > 2) { x -= 1; }",
        "    auto f = [&](int y) { return y + x; };",
    ]
    while len(body) < lines - 2:
        body.append(filler[len(body) % len(filler)])
    body += ["    return x;", "}"]
    assert len(body) == lines
    return body


def self_test():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "core"))
        planted = os.path.join(tmp, "core", "Planted.cpp")
        text = ["#include <string>", "#define BRACE {", "namespace lucida {", "namespace {", ""]
        text += _planted_function("tooLong", 151) + [""]
        text += _planted_function("justRight", 150) + ["}  // namespace", ""]
        text += ["class Holder : public Base {", "public:",
                 "    explicit Holder(int v) : m_v{v}, m_w(v) {", "    }"]
        text += ["    " + l for l in _planted_function("member", 152)] + ["", "private:",
                 "    int m_v{0};", "    int m_w = 0;", "};", ""]
        text += _planted_function("Holder::outOfLine", 160, "int {}(int x) const noexcept") + [""]
        text += ["const int table[] = {", "    1, 2,", "};", "}  // namespace lucida"]
        with open(planted, "w") as f:
            f.write("\n".join(text) + "\n")
        found = offenders(tmp, [planted])
        want = ["tooLong has 151", "member has 152", "Holder::outOfLine has 160"]
        for w in want:
            if not any(w in line for line in found):
                failures.append(f"planted function not caught: {w} (found {found})")
        if any("justRight" in line or "Holder::Holder" in line for line in found):
            failures.append(f"a function within the limit was reported: {found}")
        if len(found) != len(want):
            failures.append(f"expected {len(want)} offenders, got {found}")

        big = os.path.join(tmp, "ui", "Big.h")
        os.makedirs(os.path.dirname(big))
        with open(big, "w") as f:
            f.write("\n".join(["int v%d = 0;" % k for k in range(801)]) + "\n")
        if not any("ui/Big.h: file has 801 lines" in line for line in offenders(tmp, [big])):
            failures.append("an 801-line file was not caught")
        with open(big, "w") as f:
            f.write("\n".join(["int v%d = 0;" % k for k in range(800)]) + "\n")
        if offenders(tmp, [big]):
            failures.append("an 800-line file was reported")
    for f in failures:
        print("self-test FAILED: " + f)
    return not failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    parser.add_argument("--self-test", action="store_true", help="check the scanner on planted files first")
    args = parser.parse_args()
    if args.self_test:
        if not self_test():
            return 1
        print("self-test passed (planted 151-line function and 801-line file caught)")
    found = offenders(os.path.abspath(args.root))
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} offender(s): split them by concern (issue 12)")
        return 1
    print(f"product code within limits: files <= {MAX_FILE_LINES} lines, functions <= {MAX_FUNCTION_LINES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
