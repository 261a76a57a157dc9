"""The W3C Feed Validation Service's checks on many files in one Python process, each message
with its level, for examples/republish_eval (validate-feed itself prints messages without it).

    VENV_PYTHON levels.py FEEDVALIDATOR_PARENT_DIR < paths

Reads one path per line on standard input; prints one tab-separated line per message:
path, level (error or warning), message class, line number, message text. Like validate-feed,
it reports errors and warnings (the online service's level) and drops SelfDoesntMatchLocation,
which a file cannot satisfy.
"""
import sys

sys.path.insert(0, sys.argv[1])
import feedvalidator  # noqa: E402
from feedvalidator import compatibility, logging  # noqa: E402
from feedvalidator.formatter.text_plain import Formatter  # noqa: E402

for path in (l.rstrip("\n") for l in sys.stdin):
    if not path:
        continue
    try:
        with open(path, "rb") as f:
            events = feedvalidator.validateString(f.read(), firstOccurrenceOnly=1)["loggedEvents"]
        events = [e for e in events if type(e).__name__ != "SelfDoesntMatchLocation"]
    except logging.ValidationFailure as vf:
        events = [vf.event]
    events = compatibility.AA(events)
    formatter = Formatter(events)
    for event in events:
        level = "error" if isinstance(event, logging.Error) else "warning"
        message = formatter.getMessage(event).replace("\t", " ").replace("\n", " ")
        line = event.params.get("line", "")
        print("\t".join([path, level, type(event).__name__, str(line), message]))
    sys.stdout.flush()
