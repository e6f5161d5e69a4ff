#!/usr/bin/python3
# promcheck FILE: parse FILE strictly as the Prometheus text format
# (version 0.0.4): HELP and TYPE first, one TYPE per family, names,
# labels, values, counters named _total, no duplicate series; print "ok"
# or what is wrong, and exit 1 if anything.
# promcheck -loop FILE STOP OUT: read FILE in a tight loop until STOP
# exists, checking each read; write a summary to OUT.
# promtool is not used: Debian ships it only inside the whole server.
import os, re, sys
NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LNAME = r'[a-zA-Z_][a-zA-Z0-9_]*'
LVAL = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'(%s)(\{(?:%s=%s(?:,%s=%s)*,?)?\})? (\S+)( -?[0-9]+)?$'
                    % (NAME, LNAME, LVAL, LNAME, LVAL))
LABEL = re.compile(r'(%s)=(%s)' % (LNAME, LVAL))
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')

def check(text):
    if not text:
        return 'empty'
    if not text.endswith('\n'):
        return 'no newline at the end'
    types, helps, done, series = {}, set(), set(), set()
    current = None
    for n, line in enumerate(text[:-1].split('\n'), 1):
        where = 'line %d (%r)' % (n, line[:80])
        if line.startswith('#'):
            m = re.match(r'# (HELP|TYPE) (%s) (.*)$' % NAME, line)
            if not m:
                if re.match(r'# (HELP|TYPE)', line):
                    return where + ': malformed ' + line[2:6]
                continue
            kind, fam, rest = m.groups()
            if fam in done or (fam != current and fam in types):
                return where + ': %s of %s after its samples' % (kind, fam)
            if kind == 'TYPE':
                if fam in types:
                    return where + ': a second TYPE for ' + fam
                if rest not in TYPES:
                    return where + ': unknown type ' + rest
                types[fam] = rest
            else:
                if fam in helps:
                    return where + ': a second HELP for ' + fam
                helps.add(fam)
            if current is not None and current != fam:
                done.add(current)
            current = fam
            continue
        m = SAMPLE.match(line)
        if not m:
            return where + ': not a sample'
        name, labels, value = m.group(1), m.group(2) or '', m.group(3)
        if name != current:
            return where + ': %s is not the family of the last TYPE' % name
        if name not in types or name not in helps:
            return where + ': a sample before its HELP and TYPE'
        try:
            float(value)
        except ValueError:
            return where + ': value %r is not a float' % value
        if types[name] == 'counter' and not name.endswith('_total'):
            return where + ': counter %s does not end in _total' % name
        pairs = LABEL.findall(labels)
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            return where + ': a label twice'
        key = (name, tuple(sorted(pairs)))
        if key in series:
            return where + ': duplicate series'
        series.add(key)
    if not series:
        return 'no sample'
    return None

if sys.argv[1] == '-loop':
    path, stop, out = sys.argv[2:5]
    reads = versions = 0
    last, bad = None, []
    while not os.path.exists(stop):
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            continue
        reads += 1
        if text != last:
            versions += 1
            last = text
            err = check(text)
            if err and len(bad) < 5:
                bad.append(err)
    with open(out, 'w') as f:
        f.write('reads=%d versions=%d bad=%d\n' % (reads, versions, len(bad)))
        for b in bad:
            f.write(b + '\n')
    sys.exit(0)
err = check(open(sys.argv[1]).read())
print(err or 'ok')
sys.exit(1 if err else 0)
