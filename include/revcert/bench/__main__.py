"""One measured benchmark step in a process of its own: `python -m revcert.bench STEP ARGS...`."""
import json
import sys

from revcert.bench import salesforce, shops

STEPS = {**salesforce.STEPS, **shops.STEPS}

if __name__ == "__main__":
    step, *arguments = sys.argv[1:]
    print(json.dumps(STEPS[step](*arguments)))
