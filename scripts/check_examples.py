"""Lists exported functions, classes and values whose JSDoc has no @example (exit 1 if any);
interfaces and type aliases may go without one. Overloads pass when one of them has it.
Usage: python3 scripts/check_examples.py mod.ts server/mod.ts ..."""
import json, subprocess, sys

bad = []
for entry in sys.argv[1:]:
    out = subprocess.run(["deno", "doc", "--json", entry], capture_output=True, text=True, check=True).stdout
    for mod in json.loads(out)["nodes"].values():
        for sym in mod.get("symbols", []):
            decls = [d for d in sym.get("declarations", []) if d.get("kind") not in ("interface", "typeAlias")]
            if not decls:
                continue
            tags = [t.get("kind") for d in decls for t in (d.get("jsDoc") or {}).get("tags", [])]
            if "example" not in tags:
                loc = decls[0]["location"]
                bad.append(f"{entry}: {sym['name']} ({loc['filename'].split('/')[-2:]}:{loc['line']})")
print("\n".join(bad) if bad else "every exported function, class and value has an @example")
sys.exit(1 if bad else 0)
