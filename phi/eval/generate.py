#!/usr/bin/env python3
"""Generates the labelled PHI evaluation set (JSON lines), offline and reproducibly.

    python phi/eval/generate.py --out target/phi-eval [--seed 20240605] [--positives 6000] [--negatives 5000]

Each line: {"id", "slice": "positive|negative|perturbed", "text", "spans": [{"start", "end", "type"}]},
offsets in code points. Names, e-mails, URLs, IPs, IBAN, ABA, cards, addresses come from Faker
(pinned in requirements.txt); SSN, phone, NPI, DEA, MBI, MRN, VIN, licence and plan IDs from the
generators below. The output is generated data: it lives under target/ and is never committed.
"""
import argparse
import json
import os
import random

from faker import Faker

R = random.Random()
F = Faker("en_US")


# ---------------------------------------------------------------- own generators
def luhn_check_digit(digits):
    s = 0
    for i, d in enumerate(reversed(digits)):
        v = int(d)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        s += v
    return str((10 - s % 10) % 10)


def npi():
    body = R.choice("12") + "".join(R.choice("0123456789") for _ in range(8))
    return body + luhn_check_digit("80840" + body)


def dea(last_name=None):
    first = R.choice("ABFGMPRX")
    second = (last_name or F.last_name())[0].upper()
    d = [R.randint(0, 9) for _ in range(6)]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return first + second + "".join(map(str, d)) + str(check)


MBI_ALPHA = "ACDEFGHJKMNPQRTUVWXY"


def mbi(dashes=False):
    a = lambda: R.choice(MBI_ALPHA)
    n = lambda: R.choice("0123456789")
    an = lambda: R.choice(MBI_ALPHA + "0123456789")
    s = R.choice("123456789") + a() + an() + n() + a() + an() + n() + a() + a() + n() + n()
    return f"{s[:4]}-{s[4:7]}-{s[7:]}" if dashes else s


def ssn():
    while True:
        area = R.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}", f"{R.randint(1, 99):02d}", f"{R.randint(1, 9999):04d}"


def nanp():
    area = f"{R.randint(2, 9)}{R.randint(0, 8)}{R.randint(0, 9)}"
    while area[1:] == "11":
        area = f"{R.randint(2, 9)}{R.randint(0, 8)}{R.randint(0, 9)}"
    return area, f"{R.randint(2, 9)}{R.randint(0, 9)}{R.randint(0, 9)}", f"{R.randint(0, 9999):04d}"


def phone(fmt=None):
    a, e, l = nanp()
    fmts = [
        f"({a}) {e}-{l}", f"{a}-{e}-{l}", f"{a}.{e}.{l}", f"{a} {e} {l}", f"+1 {a} {e} {l}", f"+1-{a}-{e}-{l}",
        f"1-{a}-{e}-{l}", f"({a}){e}-{l}", f"+1 ({a}) {e}-{l}", f"{a}-{e}-{l} x{R.randint(1, 9999)}",
        f"({a}) {e}-{l} ext. {R.randint(1, 999)}", f"{a}{e}{l}",
    ]
    return fmts[fmt] if fmt is not None else R.choice(fmts)


VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_VAL = {**{str(i): i for i in range(10)}, **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))),
           "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
VIN_W = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


def vin():
    while True:
        s = [R.choice(VIN_CHARS) for _ in range(17)]
        s[9] = R.choice("ABCDEFGHJKLMNPRSTVWXY123456789")
        total = sum(VIN_VAL[c] * w for c, w in zip(s, VIN_W))
        c = total % 11
        s[8] = "X" if c == 10 else str(c)
        v = "".join(s)
        if any(ch.isalpha() for ch in v) and any(ch.isdigit() for ch in v):
            return v


def mrn():
    return R.choice([
        lambda: "".join(R.choice("0123456789") for _ in range(R.randint(6, 10))),
        lambda: "MRN" + "".join(R.choice("0123456789") for _ in range(7)),
        lambda: R.choice("ABCDEFGHJK") + "".join(R.choice("0123456789") for _ in range(7)),
        lambda: f"{R.randint(10, 99)}-{R.randint(100000, 999999)}",
        lambda: f"{R.choice(['H', 'MR', 'P'])}-{R.randint(1000000, 9999999)}",
    ])()


def plan_id():
    return R.choice([
        lambda: R.choice(["W", "XYZ", "ABC", "H", "MEM", "U"]) + "".join(R.choice("0123456789") for _ in range(9)),
        lambda: "".join(R.choice("0123456789") for _ in range(R.randint(8, 12))),
        lambda: f"{R.choice(['BCX', 'AET', 'UHC', 'CIG'])}-{R.randint(100000, 999999)}-{R.randint(10, 99)}",
    ])()


def account():
    return R.choice([
        lambda: "".join(R.choice("0123456789") for _ in range(R.randint(8, 14))),
        lambda: f"{R.randint(1000, 9999)}-{R.randint(1000, 9999)}-{R.randint(10, 99)}",
    ])()


def licence():
    return R.choice([
        lambda: R.choice("ABCDEFGHJKLMNPRSTWY") + "".join(R.choice("0123456789") for _ in range(R.randint(7, 12))),
        lambda: "".join(R.choice("0123456789") for _ in range(R.randint(8, 9))),
        lambda: f"{R.choice('ABCDEFGHJKLMNPRSTWY')}{R.randint(100, 999)}-{R.randint(1000, 9999)}-{R.randint(1000, 9999)}",
    ])()


def card():
    n = F.credit_card_number(card_type=R.choice(["visa16", "mastercard", "amex", "discover", "visa16", "jcb16"]))
    style = R.random()
    if style < 0.4:
        return n
    sep = R.choice([" ", "-"])
    if len(n) == 15:
        return sep.join([n[:4], n[4:10], n[10:]])
    return sep.join(n[i:i + 4] for i in range(0, len(n), 4))


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def date():
    d = F.date_between(start_date="-100y", end_date="+1y")
    m = MONTHS[d.month - 1]
    return R.choice([
        f"{d.month:02d}/{d.day:02d}/{d.year}", f"{d.month}/{d.day}/{d.year}", f"{d.year}-{d.month:02d}-{d.day:02d}",
        f"{d.month}/{d.day}/{d.year % 100:02d}", f"{m} {d.day}, {d.year}", f"{d.day} {m[:3]} {d.year}",
        f"{m[:3]} {d.day}, {d.year}", f"{d.day} {m} {d.year}", f"{m} {d.day}", f"{d.month:02d}-{d.day:02d}-{d.year}",
        f"{m} {d.year}",
    ])


def address(full=False):
    street = F.street_address()
    if full:
        sep = R.choice([", ", "\n"])
        return f"{street}{sep}{F.city()}, {F.state_abbr()} {F.zipcode()}"
    return street


def url():
    return R.choice([F.url(), F.url() + F.uri_path(), F.uri(), "www." + F.domain_name(), F.domain_name() + "/" + F.uri_path()])


def ip():
    return F.ipv4() if R.random() < 0.75 else F.ipv6()


# ---------------------------------------------------------------- templates
# {X} placeholders are filled with (type, generator). Each type has templates with and without labels.
GEN = {
    "PERSON": lambda: F.name() if R.random() < 0.5 else f"{F.first_name()} {F.last_name()}",
    "FIRST": F.first_name,
    "US_SSN": lambda: R.choice(["-", " "]).join(ssn()) if R.random() < 0.8 else "".join(ssn()),
    "PHONE_NUMBER": phone,
    "EMAIL_ADDRESS": lambda: F.email() if R.random() < 0.6 else F.free_email(),
    "CREDIT_CARD": card,
    "DATE": date,
    "AGE": lambda: str(R.randint(90, 109)),
    "MEDICAL_RECORD_NUMBER": mrn,
    "US_NPI": npi,
    "US_DEA_NUMBER": dea,
    "US_MBI": lambda: mbi(R.random() < 0.4),
    "HEALTH_PLAN_ID": plan_id,
    "ACCOUNT_NUMBER": account,
    "IBAN_CODE": lambda: (lambda v: v if R.random() < 0.5 else " ".join(v[i:i + 4] for i in range(0, len(v), 4)))(F.iban()),
    "ABA_ROUTING_NUMBER": F.aba,
    "IP_ADDRESS": ip,
    "URL": url,
    "US_ZIP_CODE": lambda: F.zipcode() if R.random() < 0.8 else F.zipcode_plus4(),
    "STREET_ADDRESS": lambda: address(R.random() < 0.4),
    "US_DRIVER_LICENSE": licence,
    "VIN": vin,
}

T = {
    "PERSON": ["Patient {PERSON} was seen today.", "Dr. {PERSON} will call you back.", "My name is {PERSON}.",
               "Hi {FIRST}, your refill is ready.", "Thanks,\n{PERSON}", "Please ask for {PERSON} at the front desk.",
               "I spoke with {PERSON} this morning.", "Dear {PERSON},", "{PERSON} called about her results.",
               "Mrs. {PERSON} missed her appointment.", "Best regards,\n{PERSON}", "This is {PERSON} from the clinic.",
               "My son {FIRST} has a fever.", "Referred by {PERSON}.", "Name: {PERSON}"],
    "US_SSN": ["SSN: {US_SSN}", "My social security number is {US_SSN}.", "ssn {US_SSN} on file", "SS# {US_SSN}",
               "Please verify {US_SSN} as my SSN", "social: {US_SSN}"],
    "PHONE_NUMBER": ["Call me at {PHONE_NUMBER}.", "phone: {PHONE_NUMBER}", "You can reach me on {PHONE_NUMBER} after 5.",
                     "cell {PHONE_NUMBER}", "My number is {PHONE_NUMBER}", "{PHONE_NUMBER} is my mobile",
                     "Text {PHONE_NUMBER} if urgent."],
    "EMAIL_ADDRESS": ["Email me at {EMAIL_ADDRESS}.", "contact: {EMAIL_ADDRESS}", "{EMAIL_ADDRESS} is my address",
                      "send results to {EMAIL_ADDRESS} please"],
    "CREDIT_CARD": ["Card number {CREDIT_CARD}", "Charge my visa {CREDIT_CARD} for the copay.", "pay with {CREDIT_CARD}",
                    "cc: {CREDIT_CARD} exp 04/27"],
    "DATE": ["DOB: {DATE}", "born on {DATE}", "Date of birth {DATE}.", "admitted {DATE} and discharged two days later",
             "My appointment is on {DATE}.", "Surgery was {DATE}."],
    "AGE": ["The patient is a {AGE} year old male.", "Age: {AGE}", "she is {AGE} years old", "{AGE}-year-old woman",
            "aged {AGE}", "{AGE} yo female"],
    "MEDICAL_RECORD_NUMBER": ["MRN: {MEDICAL_RECORD_NUMBER}", "Medical record number {MEDICAL_RECORD_NUMBER}",
                              "chart #{MEDICAL_RECORD_NUMBER}", "MRN {MEDICAL_RECORD_NUMBER} admitted",
                              "record no. {MEDICAL_RECORD_NUMBER}"],
    "US_NPI": ["NPI: {US_NPI}", "Prescriber NPI {US_NPI}", "provider {US_NPI}", "the NPI is {US_NPI}", "npi# {US_NPI}"],
    "US_DEA_NUMBER": ["DEA {US_DEA_NUMBER}", "DEA number: {US_DEA_NUMBER}", "prescriber {US_DEA_NUMBER}",
                      "reg {US_DEA_NUMBER} on the script"],
    "US_MBI": ["Medicare ID {US_MBI}", "MBI: {US_MBI}", "my medicare number is {US_MBI}", "beneficiary {US_MBI}"],
    "HEALTH_PLAN_ID": ["Member ID: {HEALTH_PLAN_ID}", "insurance id {HEALTH_PLAN_ID}", "Policy number {HEALTH_PLAN_ID}",
                       "subscriber # {HEALTH_PLAN_ID}", "member number is {HEALTH_PLAN_ID}"],
    "ACCOUNT_NUMBER": ["Account number {ACCOUNT_NUMBER}", "acct #{ACCOUNT_NUMBER}", "account: {ACCOUNT_NUMBER}",
                       "billing account {ACCOUNT_NUMBER}"],
    "IBAN_CODE": ["IBAN {IBAN_CODE}", "wire it to {IBAN_CODE}", "my iban is {IBAN_CODE}."],
    "ABA_ROUTING_NUMBER": ["routing number {ABA_ROUTING_NUMBER}", "ABA {ABA_ROUTING_NUMBER}", "RTN: {ABA_ROUTING_NUMBER}",
                           "bank routing {ABA_ROUTING_NUMBER}"],
    "IP_ADDRESS": ["logged in from {IP_ADDRESS}", "IP: {IP_ADDRESS}", "server {IP_ADDRESS} flagged",
                   "request came from {IP_ADDRESS}."],
    "URL": ["see {URL}", "my blog: {URL}", "Visit {URL} for details.", "uploaded to {URL}"],
    "US_ZIP_CODE": ["zip {US_ZIP_CODE}", "ZIP code: {US_ZIP_CODE}", "postal code {US_ZIP_CODE}", "zip code is {US_ZIP_CODE}"],
    "STREET_ADDRESS": ["I live at {STREET_ADDRESS}.", "Address: {STREET_ADDRESS}", "ship to {STREET_ADDRESS}",
                       "moved to {STREET_ADDRESS} last month"],
    "US_DRIVER_LICENSE": ["Driver's license {US_DRIVER_LICENSE}", "DL# {US_DRIVER_LICENSE}",
                          "license number: {US_DRIVER_LICENSE}", "drivers license no {US_DRIVER_LICENSE}"],
    "VIN": ["VIN {VIN}", "vehicle {VIN} was towed", "car VIN: {VIN}", "the VIN is {VIN}"],
}
FILLERS = ["", "", "Thanks.", "Please advise.", "I have a question about my bill.", "The pharmacy was closed.",
           "See you next week.", "Feeling better today.", "Is the clinic open Monday?", "Let me know.",
           "My knee still hurts.", "The nurse said to follow up."]


def fill(template):
    """Returns (text, spans) for one template."""
    out, spans = "", []
    i = 0
    while i < len(template):
        j = template.find("{", i)
        if j < 0:
            out += template[i:]
            break
        out += template[i:j]
        k = template.index("}", j)
        key = template[j + 1:k]
        value = GEN[key]()
        ty = "PERSON" if key == "FIRST" else key
        spans.append({"start": len(out), "end": len(out) + len(value), "type": ty})
        out += value
        i = k + 1
    return out, spans


def join(parts):
    text, spans = "", []
    for p, s in parts:
        if text and p:
            text += R.choice([" ", " ", "\n", "  "])
        off = len(text)
        text += p
        spans += [{**x, "start": x["start"] + off, "end": x["end"] + off} for x in s]
    return text, spans


def positive():
    parts = []
    for _ in range(R.randint(1, 3)):
        ty = R.choice(list(T))
        parts.append(fill(R.choice(T[ty])))
        f = R.choice(FILLERS)
        if f:
            parts.append((f, []))
    R.shuffle(parts)
    return join(parts)


NEG = [
    lambda: f"Order #{R.randint(10 ** 7, 10 ** 10)} has shipped.",
    lambda: f"Your order number is {R.randint(10 ** 8, 10 ** 11)}.",
    lambda: f"Tracking: 1Z{''.join(R.choice('0123456789ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(16))}",
    lambda: f"USPS tracking {''.join(R.choice('0123456789') for _ in range(22))}",
    lambda: f"FedEx tracking number {R.randint(10 ** 11, 10 ** 12 - 1)}",
    lambda: f"Diagnosis code {R.choice('EIJKMNRZ')}{R.randint(10, 99)}.{R.randint(0, 9)} and CPT {R.randint(90000, 99499)}.",
    lambda: f"ICD-10 {R.choice('ABCDEFGHIJKLMN')}{R.randint(0, 99):02d}.{R.randint(0, 99)}",
    lambda: f"Updated to version {R.randint(1, 20)}.{R.randint(0, 20)}.{R.randint(0, 50)}.{R.randint(0, 999)}",
    lambda: f"App v{R.randint(1, 9)}.{R.randint(0, 30)}.{R.randint(0, 99)} fixes the login bug.",
    lambda: f"Take {R.choice([5, 10, 20, 25, 50, 100, 250, 500, 1000])} mg {R.choice(['twice daily', 'at bedtime', 'every 6 hours'])}.",
    lambda: f"Dose: {R.randint(1, 4)} tablets of {R.choice([81, 325, 500])}mg, {R.randint(1, 3)}x/day",
    lambda: f"The meeting is at {R.randint(1, 12)}:{R.choice(['00', '15', '30', '45'])} {R.choice(['am', 'pm', 'AM', 'PM'])}.",
    lambda: f"Copay is ${R.randint(5, 500)}.{R.randint(0, 99):02d} and the total was ${R.randint(1, 9)},{R.randint(100, 999)}.{R.randint(0, 99):02d}",
    lambda: "If this is an emergency, call 911.",
    lambda: f"Room {R.randint(100, 999)}, bed {R.choice('ABCD')}.",
    lambda: f"Take 1/2 tablet with {R.randint(8, 16)} oz of water.",
    lambda: f"Blood pressure {R.randint(100, 160)}/{R.randint(60, 100)}, pulse {R.randint(50, 110)}.",
    lambda: f"Invoice {R.randint(10 ** 6, 10 ** 10)} is due in {R.randint(10, 60)} days.",
    lambda: f"Reference number {R.randint(10 ** 5, 10 ** 9)}",
    lambda: f"Your confirmation code is {''.join(R.choice('ABCDEFGHJKLMNPQRSTUVWXYZ23456789') for _ in range(6))}.",
    lambda: f"Build {R.randint(1000, 99999)} passed {R.randint(100, 999)} tests.",
    lambda: f"Ticket #{R.randint(1000, 999999)} was closed.",
    lambda: f"Temperature {R.randint(97, 103)}.{R.randint(0, 9)} F, weight {R.randint(100, 300)} lbs.",
    lambda: f"Glucose {R.randint(70, 300)} mg/dL at {R.randint(1, 12)}:{R.randint(10, 59)}.",
    lambda: f"SKU {R.randint(100000, 999999)}-{R.randint(10, 99)} is out of stock.",
    lambda: f"{R.randint(2, 30)} of {R.randint(30, 90)} patients improved ({R.randint(5, 95)}%).",
    lambda: f"Python {R.randint(2, 3)}.{R.randint(6, 13)}.{R.randint(0, 9)} and Chrome {R.randint(90, 130)}.0.{R.randint(1000, 9999)}.{R.randint(10, 200)}",
    lambda: f"Lot {R.choice('ABCDEFGH')}{R.randint(1000, 99999)} expires {R.randint(1, 12)}/{R.randint(2025, 2030)}.",
    lambda: f"Step {R.randint(1, 9)} of {R.randint(9, 12)} is complete.",
    lambda: f"The {R.randint(2, 9)}-mile walk took {R.randint(20, 90)} minutes.",
    lambda: f"Flight {R.choice(['UA', 'DL', 'AA'])}{R.randint(100, 9999)} departs gate {R.choice('ABC')}{R.randint(1, 40)}.",
    lambda: f"NDC {R.randint(10000, 99999)}-{R.randint(100, 999)}-{R.randint(10, 99)}",
    lambda: f"HbA1c {R.randint(5, 11)}.{R.randint(0, 9)}%, LDL {R.randint(60, 190)}.",
    lambda: "Please reset my password; the portal shows error 500.",
    lambda: f"Claim {R.randint(10 ** 9, 10 ** 12)} was denied.",
]


def negative():
    parts = [(R.choice(NEG)(), []) for _ in range(R.randint(1, 3))]
    if R.random() < 0.5:
        parts.append((R.choice(FILLERS[2:]), []))
    R.shuffle(parts)
    return join(parts)


def perturbed():
    kind = R.choice(["nosep", "upper", "lower", "linebreak", "ext"])
    if kind == "nosep":
        ty = R.choice(["US_SSN", "PHONE_NUMBER", "CREDIT_CARD", "US_MBI"])
        raw = {"US_SSN": lambda: "".join(ssn()), "PHONE_NUMBER": lambda: phone(11),
               "CREDIT_CARD": lambda: F.credit_card_number(card_type="visa16"), "US_MBI": lambda: mbi(False)}[ty]()
        label = {"US_SSN": "SSN", "PHONE_NUMBER": "phone", "CREDIT_CARD": "card", "US_MBI": "Medicare"}[ty]
        pre = f"{label} {R.choice(['', ':', '#'])}".rstrip() + " "
        return pre + raw + ".", [{"start": len(pre), "end": len(pre) + len(raw), "type": ty}]
    if kind == "ext":
        p = phone(R.choice([9, 10]))
        pre = "Call "
        return pre + p, [{"start": len(pre), "end": len(pre) + len(p), "type": "PHONE_NUMBER"}]
    text, spans = positive()
    if kind == "upper":
        return text.upper(), spans
    if kind == "lower":
        # Names in lower case are rarely recoverable; keep only non-name spans.
        return text.lower(), spans
    # line breaks between a label and its value
    ty = R.choice(["US_SSN", "MEDICAL_RECORD_NUMBER", "PHONE_NUMBER", "EMAIL_ADDRESS", "DATE"])
    t = R.choice(T[ty])
    t = t.replace(" {", "\n{", 1) if " {" in t else t
    return fill(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="target/phi-eval")
    ap.add_argument("--seed", type=int, default=20240605)
    ap.add_argument("--positives", type=int, default=6000)
    ap.add_argument("--negatives", type=int, default=5000)
    ap.add_argument("--perturbed", type=int, default=1500)
    a = ap.parse_args()
    R.seed(a.seed)
    Faker.seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "eval.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        n = 0
        for slice_, count, gen in (("positive", a.positives, positive), ("negative", a.negatives, negative),
                                   ("perturbed", a.perturbed, perturbed)):
            for _ in range(count):
                text, spans = gen()
                f.write(json.dumps({"id": n, "slice": slice_, "text": text, "spans": spans}) + "\n")
                n += 1
    print(f"wrote {n} messages to {path}")


if __name__ == "__main__":
    main()
