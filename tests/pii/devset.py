"""The PII development set: seeded Faker support-ticket templates with gold spans (tests only).

`generate(sizes, seed)` writes support-ticket texts from seeded Faker templates (several locales) with
gold spans for names (also lowercase, uppercase, after prepositions, in greetings and signatures),
emails, phone numbers in many formats, card numbers, SSNs, IBANs, IP addresses, street addresses,
ZIP codes and cities, mixed with PII-free sentences full of look-alikes (order numbers, versions,
amounts, tracking codes, company names). Every template here has been tuned on (`dev` first, then
`heldout`, `fresh` and `unseen`, each written after the tuning before it): this whole file is the
development set, and so is tests/pii/testsplit.py (dev2, the former test split v1). The frozen test
split is tests/pii/data/pii_test2.jsonl, written blind elsewhere.

    .venv/bin/python -m tests.pii.devset [--seed 4] [--out tests/pii/data/pii_eval.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

DEV_SET = Path(__file__).resolve().parent / "data" / "pii_eval.jsonl"

NAME_LOCALES = ["en_US"] * 8 + ["en_GB", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_IN", "pt_BR",
                                 "pl_PL"]
PHONE_LOCALES = ["en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL", "pt_BR", "pl_PL", "en_IN", "en_CA"]
IBAN_LOCALES = ["en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL", "it_IT"]
CARD_TYPES = {"visa16": (4, 4, 4, 4), "mastercard": (4, 4, 4, 4), "discover": (4, 4, 4, 4),
              "jcb16": (4, 4, 4, 4), "amex": (4, 6, 5), "diners": (4, 6, 4)}
US_PHONE_FORMATS = ["(###) ###-####", "###-###-####", "###.###.####", "+1 ### ### ####", "+1-###-###-####",
                    "1-###-###-####", "##########", "(###)###-####", "###-###-#### ext. ###"]

TEMPLATES = [
    "Hi, my name is {name} and I can't log into my account. My email is {email}.",
    "Hello, this is {name}. Please call me back at {phone}, I'm free after 3pm.",
    "I was charged twice on my card {card} for order #{order}. Please refund one of them.",
    "Hello {first},\n\nThanks for reaching out. Ticket {ticket} has been escalated to engineering.\n\n"
    "Best regards,\n{name}\nCustomer Support",
    "Can you update my shipping address to {address}? The old one is no longer valid.",
    "The invoice should be addressed to {name}, {address}.",
    "Please send the replacement unit to:\n{address2}\nThanks!",
    "I moved last month. New address: {street}, zip {zip}.",
    "My SSN is {ssn}, do you need anything else for the W-9?",
    "For the refund please use IBAN {iban} (account holder: {name}).",
    "Our VPN gateway at {ip} keeps dropping connections since version {version}.",
    "i spoke with {name_lc} yesterday and she said the refund would take {days} days",
    "Forwarding this to {name} in billing, cc {email}.",
    "Assigned to {name}. Priority changed from Low to High.",
    "Customer {name} ({email}) reports that the export fails with error {errcode}.",
    "{name} called from {phone} about case {ticket}.",
    "What's the delivery estimate for ZIP code {zip}? Order {order} still says processing.",
    "Login attempts from {ip} and {ip6} were blocked by the firewall.",
    "can {first_lc} from your team call me? my number is {phone}",
    "my name is {name_lc}, account email {email}, please close my account",
    "Spoke to {first} at the front desk, she told me to email {email}.",
    "Dear Mr. {last},\n\nYour subscription to the {plan} plan renews on {date}.",
    "Dear Ms. {last}, we have received your payment of ${amount}.",
    "Thanks,\n{name}",
    "Regards,\n{name}\n{job}, {company}\nMobile: {phone}",
    "--\n{name} | {company} | {phone}",
    "Please verify my identity: SSN {ssn}, DOB on file, phone {phone}.",
    "Wire the deposit to {iban}, reference {order}.",
    "The server {ip} returned 502 for all requests between {time} and 11:00.",
    "Our office in {city} cannot reach the portal, IP {ip}.",
    "Ship to {name}, {address}.",
    "I'm {first}, the new admin for {company}. Reach me at {email} or {phone}.",
    "ask {first_lc} about it, she handled the migration",
    "This was approved by {name} on {date}.",
    "Card number: {card}, exp {expiry}. Please update the billing profile.",
    "We live at {street} in {city} and the technician never showed up.",
    "Please remove {name} from the account, she left the company. Her phone was {phone}.",
    "Contact person: {name}, tel. {phone}, e-mail {email}",
    "Kunde {name} meldet, dass die Lastschrift von {iban} fehlgeschlagen ist.",
    "Bonjour, je suis {name}, mon numéro est le {phone}.",
    "Hola, soy {name}. Mi correo es {email} y mi teléfono {phone}.",
    "Bill to: {name}\n{address2}",
    "Social security number {ssn} was entered wrong on the form, the correct one is {ssn}.",
    "Hey {first}, the payment from card {card} failed again.",
    "I emailed {email} three times and nobody answered. {name}",
    "The device with IP {ip} and MAC 00:1B:44:11:3A:B7 is not in the inventory.",
    "thanks {first_lc}, that fixed it!",
    "Per my call with {name} on {date}, the contract starts in {month}.",
    "Home address {address}. Cell {phone}.",
    "Please update payroll: {name}, IBAN {iban}, effective {date}.",
]

# Written after the recognizers were tuned on TEMPLATES. First score: PERSON recall 0.81, every other
# label met; its misses then led to generic rules (UPPERCASE names, lowercase first + last names,
# "frederick here"), so it is no longer unseen.
HELDOUT_TEMPLATES = [
    "Account owner: {name}. Billing contact can be reached on {phone}.",
    "Hey support, {first_lc} here. I keep getting logged out every 5 minutes.",
    "Refund the last payment to {iban} please, the card {card} is cancelled.",
    "{name} <{email}> wrote:\n> Can you look at the export?",
    "Please ship the hardware token to {address}, attention {name}.",
    "The customer said her social is {ssn} but the form rejects it.",
    "Traffic from {ip} spiked at {time}; {ip6} looks fine.",
    "Our CFO {name} needs admin rights. Her direct line is {phone}.",
    "Mailing address on file:\n{address2}",
    "From: {name}\nSent: {date}\nSubject: invoice {order}",
    "Talk soon,\n{first}",
    "Name as printed on the card: {name_upper}",
    "Can someone from billing call {name} back on {phone}? She has been waiting since {date}.",
    "Both {name} and {name} were copied on ticket {ticket}.",
    "Postal code is {zip} and the street is {street}.",
    "We got a chargeback for {card} from a customer in {city}.",
    "Reach me on {email} or via WhatsApp {phone}.",
    "IBAN: {iban}\nBIC: DEUTDEFFXXX\nAccount name: {name}",
    "Your technician, {name}, arrives between 8 and 12 at {street}.",
    "our intern {first_lc} {last_lc} deleted the workspace by accident",
]

# Written last. First score: PERSON recall 0.81, every other label met; its misses then led to more
# cues ("met", "thx", role nouns such as "tenant:"), middle initials and unknown-first-name rules.
FRESH_TEMPLATES = [
    "Per our chat, I've updated the contact to {name} ({phone}).",
    "Please note the new billing address: {address}.",
    "hi, {name_lc} from {company} here, we need 5 more seats",
    "Card on file ends in 4242, but please charge {card} this month.",
    "Login from unknown IP {ip} for user {email}.",
    "Employee: {name}\nSSN: {ssn}\nStart date: {date}",
    "Met {first} at the conference, she asked for a demo. Her email: {email}.",
    "Send the contract to our lawyer, {name}, at\n{address2}",
    "Payment reference {order}, IBAN {iban}, beneficiary {name_upper}.",
    "The caller ({phone}) refused to give a name.",
    "My zip changed to {zip} after the move.",
    "Could {name} please stop emailing {email} about renewals?",
    "Thx, {first_lc}",
    "Tenant: {name}, unit at {street}, {city}.",
    "The VPN at {ip6} is down again.",
]

# Written after the rules that the heldout misses led to (sign-off lines, "name" field labels, "call",
# phone cues such as "direct line"). First score: PERSON 0.90, PHONE_NUMBER 0.96, every other direct
# identifier 1.0; its misses then led to UPPERCASE names after a cue and "068-5509329"-style numbers.
UNSEEN_TEMPLATES = [
    "Could you transfer ownership of the workspace to {name}? I'm leaving on {date}.",
    "{first} mentioned you could help with the SSO setup. My cell is {phone}.",
    "Best,\n{first} {last}\nSenior {job}",
    "The package for {name} was left at {street} instead of the front office.",
    "Hi {first}, can you resend the invoice to {email}? Ours bounced.",
    "Please charge the annual fee to {card} and email the receipt to {email}.",
    "our admin is {name_lc} and she is on leave until {month}",
    "Emergency contact: {name}, {phone}",
    "I'd like to dispute a transaction. SSN: {ssn}. Card: {card}.",
    "Wire transfer failed, beneficiary {name}, IBAN {iban}. Please advise.",
    "Suspicious sign-ins from {ip} on the account of {name}.",
    "Moving to {address}, please update my profile. Phone stays {phone}.",
    "Greetings from {city}! {name} here, we met at the trade show.",
    "Cheers,\n{first}\n{phone}",
    "Escalated by {name} after the customer at {ip} hit rate limits.",
    "Please send the tax form to {name_upper}, {address}.",
    "ZIP {zip}, apartment at {street}. The courier could not find it.",
    "I work with {first} {last} on the data team and we both lost access.",
    "CC'ing {name} ({email}) who owns the integration on our side.",
    "new phone number for {first_lc}: {phone}",
]

# Written after the test split was frozen, from the kinds issue 17 lists (not from the test split):
# multi-line postal addresses in other countries' layouts, national phone formats, 12-19 digit
# card numbers in sentences, names in lists, middle initials, possessives. Tuned on from the start.
INTL_TEMPLATES = [
    "Please post the documents to:\n{name}\n{intl_address}",
    "Our new office: {intl_address_line}. Call reception on {national_phone}.",
    "Lieferadresse:\n{name}\n{intl_address}\nTel. {national_phone}",
    "The card {long_card} was declined at the till.",
    "Attendees: {name}, {name_initial} and {last}.",
    "I called {name_initial}'s office on {national_phone} but nobody picked up.",
    "{name}'s parcel went to {intl_address_line} by mistake.",
    "Refund to card number {long_card} please, not the bank account.",
    "Contact sheet\nName: {name_initial}\nAddress: {intl_address_line}\nPhone: {national_phone}",
    "Members of the board are {last}, {last} and {name}.",
]

FILLERS = [
    "The app crashes when I open the Reports tab on Android 14.",
    "Error {errcode} appears after the {version} update.",
    "Tracking number {tracking} shows no movement since Monday.",
    "We have {count} seats on the {plan} plan, renewal date {date}.",
    "Ticket {ticket} was closed without a fix.",
    "Is there a way to export more than 10,000 rows to CSV?",
    "The dashboard takes 45 seconds to load between 9:00 and 11:00 AM EST.",
    "Please reset the MFA on account #{order}.",
    "Our build {build} fails at step 7 of 12.",
    "SKU {sku} is listed twice in the catalog.",
    "Version {version} is affected, {version} is not.",
    "The total was ${amount}, tax included.",
    "Your order {order} shipped on {date} at {time}.",
    "Single sign-on with Okta stopped working after the {month} release.",
    "The API returns HTTP 429 after about 1,200 requests per minute.",
    "I'm on Windows 11 with Chrome 126 and Outlook 2021.",
    "Invoice INV-{order} lists 3 licences instead of 30.",
    "The nightly sync to Salesforce and HubSpot fails with timeout 0x{hexcode}.",
    "Please escalate, this blocks 40% of our support agents.",
    "Screenshot attached (IMG_{count}.PNG).",
]


REFERENCE = datetime(2026, 11, 23)  # the generator's fixed "today": never the clock (naive = UTC in Faker)
CARD_LIFETIME = timedelta(days=3652.4)  # Faker's "+10y"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # English whatever the process locale (strftime's %B follows LC_TIME)

PLAIN_SLOTS = {  # look-alikes that are not PII: detection must leave them alone
    "order": lambda f, rng: f.numerify("########"),
    "ticket": lambda f, rng: f.bothify("INC#######"),
    "amount": lambda f, rng: f"{rng.randint(5, 4999)}.{rng.randint(0, 99):02d}",
    "date": lambda f, rng: f.date_between_dates(date(2026, 1, 1), date(2026, 12, 31)).isoformat(),
    "time": lambda f, rng: f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
    "version": lambda f, rng: f"{rng.randint(1, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
    "company": lambda f, rng: f.company(),
    "job": lambda f, rng: f.job(),
    "errcode": lambda f, rng: f.bothify("E-####"),
    "days": lambda f, rng: str(rng.randint(3, 14)),
    "count": lambda f, rng: str(rng.randint(2, 900)),
    "plan": lambda f, rng: rng.choice(["Starter", "Team", "Business", "Enterprise"]),
    "expiry": lambda f, rng: f.date_time_between(REFERENCE, REFERENCE + CARD_LIFETIME).strftime("%m/%y"),
    "month": lambda f, rng: MONTHS[f.date_time(end_datetime=REFERENCE).month - 1],
    "tracking": lambda f, rng: f.bothify("1Z###??########").upper(),
    "build": lambda f, rng: f.numerify("2026####.#"),
    "sku": lambda f, rng: f.numerify("####-####-##"),
    "hexcode": lambda f, rng: f.hexify("^^^^^^^^", upper=True),
}


INTL_LOCALES = ["en_NZ", "fr_BE", "es_AR", "it_CH", "sk_SK", "sl_SI", "hr_HR", "ro_RO", "lt_LT", "lv_LV", "et_EE",
                "no_NO", "de_LU", "de_LI", "fr_CA"]
NATIONAL_PHONE_FORMATS = ["## ## ## ##", "0### ### ###", "(0#) ### ####", "### ## ##", "0## ### ####", "#### ####",
                          "(##) ####-####", "0##-### ## ##"]
LONG_CARD_TYPES = ["maestro", "visa13", "visa19", "jcb15", "amex", "diners", "discover", "mastercard"]


class _Fill:
    """Slot values for one record: each call returns (value, gold label or None)."""

    def __init__(self, fakers: dict, rng: random.Random):
        self.fakers, self.rng = fakers, rng
        self.person = None

    def faker(self, locale: str = "en_US"):
        return self.fakers[locale]

    def _person(self) -> tuple[str, str]:
        f = self.faker(self.rng.choice(NAME_LOCALES))
        self.person = (f.first_name(), f.last_name())
        return self.person

    def __call__(self, slot: str) -> tuple[str, str | None]:
        if slot in PLAIN_SLOTS:
            return PLAIN_SLOTS[slot](self.faker(), self.rng), None
        return getattr(self, f"slot_{slot}")()

    def slot_name(self):
        return " ".join(self._person()), "PERSON"

    def slot_first(self):
        return self._person()[0], "PERSON"

    def slot_last(self):
        return self._person()[1], "PERSON"

    def slot_name_lc(self):
        return " ".join(self._person()).lower(), "PERSON"

    def slot_name_upper(self):
        return " ".join(self._person()).upper(), "PERSON"

    def slot_last_lc(self):
        return self.person[1].lower() if self.person else self._person()[1].lower(), "PERSON"

    def slot_first_lc(self):
        return self._person()[0].lower(), "PERSON"

    def slot_email(self):
        f, r = self.faker(), self.rng.random()
        if self.person and r < 0.5:
            first, last = (re.sub(r"[^a-z]", "", p.lower()) or "x" for p in self.person)
            user = self.rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{self.rng.randint(1, 99)}"])
            return f"{user}@{f.domain_name()}", "EMAIL_ADDRESS"
        return (f.email() if r < 0.8 else f.company_email()), "EMAIL_ADDRESS"

    def slot_phone(self):
        f, r = self.faker(), self.rng.random()
        if r < 0.35:
            return f.phone_number(), "PHONE_NUMBER"
        if r < 0.7:
            return f.numerify(self.rng.choice(US_PHONE_FORMATS).replace("(###)", "(2##)", 1)), "PHONE_NUMBER"
        return self.faker(self.rng.choice(PHONE_LOCALES)).phone_number(), "PHONE_NUMBER"

    def slot_card(self):
        card_type = self.rng.choice(list(CARD_TYPES))
        number = self.faker().credit_card_number(card_type)
        sep = self.rng.choice(["", " ", " ", "-"])
        groups, parts, i = CARD_TYPES[card_type], [], 0
        for g in groups:
            parts.append(number[i:i + g])
            i += g
        return sep.join(parts), "CREDIT_CARD"

    def slot_ssn(self):
        ssn = self.faker().ssn()
        return self.rng.choice([ssn, ssn, ssn, ssn.replace("-", " ")]), "US_SSN"

    def slot_iban(self):
        iban = self.faker(self.rng.choice(IBAN_LOCALES)).iban()
        if self.rng.random() < 0.5:
            iban = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
        return iban, "IBAN_CODE"

    def slot_ip(self):
        f = self.faker()
        return (f.ipv4_public() if self.rng.random() < 0.6 else f.ipv4_private()), "IP_ADDRESS"

    def slot_ip6(self):
        return self.faker().ipv6(), "IP_ADDRESS"

    def slot_street(self):
        f = self.faker()
        street = f"{f.building_number()} {f.street_name()}"
        if self.rng.random() < 0.3:
            street += " " + f.secondary_address()
        return street, "STREET_ADDRESS"

    def slot_address(self):
        f = self.faker()
        street, _ = self.slot_street()
        zip_code = f.zipcode() if self.rng.random() < 0.8 else f.zipcode_plus4()
        return f"{street}, {f.city()}, {f.state_abbr(include_territories=False)} {zip_code}", "STREET_ADDRESS"

    def slot_address2(self):
        text, label = self.slot_address()
        return text.replace(", ", "\n", 1), label

    def slot_zip(self):
        f = self.faker()
        return (f.zipcode() if self.rng.random() < 0.8 else f.zipcode_plus4()), "ZIP_CODE"

    def _intl(self):
        return self.faker(self.rng.choice(INTL_LOCALES))

    def slot_intl_address(self):
        return self._intl().address().strip(), "STREET_ADDRESS"

    def slot_intl_address_line(self):
        return self._intl().address().strip().replace("\n", ", "), "STREET_ADDRESS"

    def slot_national_phone(self):
        if self.rng.random() < 0.5:
            return self._intl().phone_number(), "PHONE_NUMBER"
        return self.faker().numerify(self.rng.choice(NATIONAL_PHONE_FORMATS)), "PHONE_NUMBER"

    def slot_long_card(self):
        return self.faker().credit_card_number(self.rng.choice(LONG_CARD_TYPES)), "CREDIT_CARD"

    def slot_name_initial(self):
        first, last = self._person()
        return f"{first} {self.rng.choice('ABCDEFGHJKLMNPRSTVW')}. {last}", "PERSON"

    def slot_city(self):
        return self.faker().city(), "LOCATION"

    def slot_state(self):
        return self.faker().state_abbr(include_territories=False), "LOCATION"


SLOT = re.compile(r"\{(\w+)\}")


def render(template: str, fill) -> tuple[str, list[dict]]:
    """The template with its slots filled, and the gold spans of the slots that hold PII."""
    text, spans, last = "", [], 0
    for m in SLOT.finditer(template):
        text += template[last:m.start()]
        value, label = fill(m.group(1))
        if label:
            spans.append({"start": len(text), "end": len(text) + len(value), "label": label})
        text += value
        last = m.end()
    return text + template[last:], spans


SPLITS = {"dev": TEMPLATES, "heldout": HELDOUT_TEMPLATES, "fresh": FRESH_TEMPLATES, "unseen": UNSEEN_TEMPLATES,
          "intl": INTL_TEMPLATES}


def generate(sizes: dict[str, int] | None = None, seed: int = 4) -> list[dict]:
    """Labelled records, `sizes[split]` of them from each split's templates (default 450 dev, 80
    heldout, 70 fresh, 100 unseen); the same sizes and seed (and Faker version) give the same records."""
    from faker import Faker

    sizes = sizes or {"dev": 450, "heldout": 80, "fresh": 70, "unseen": 100, "intl": 150}
    plan = [(split, k) for split, n in sizes.items() for k in range(n)]
    rng = random.Random(seed)
    locales = sorted(set(NAME_LOCALES + PHONE_LOCALES + IBAN_LOCALES))
    locales += [loc for loc in INTL_LOCALES if loc not in locales]
    fakers = {loc: Faker(loc) for loc in locales}
    for i, loc in enumerate(locales):
        fakers[loc].seed_instance(seed * 1000 + i)
    records = []
    for i, (split, k) in enumerate(plan):
        fill = _Fill(fakers, rng)
        templates = SPLITS[split]
        parts = [templates[k % len(templates)]]
        if rng.random() < 0.6:
            filler = rng.choice(FILLERS)
            parts.insert(rng.randrange(2), filler)
        text, spans = "", []
        for part in parts:
            piece, piece_spans = render(part, fill)
            sep = "" if not text else " " if text[-1] in ".!?" else "\n"
            offset = len(text) + len(sep)
            text = f"{text}{sep}{piece}"
            spans += [{**s, "start": s["start"] + offset, "end": s["end"] + offset} for s in piece_spans]
        records.append({"id": i, "split": split, "template": k % len(templates), "text": text, "spans": spans})
    return records


def write_jsonl(records: list[dict], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--out", type=Path, default=DEV_SET)
    args = parser.parse_args(argv)
    records = generate(seed=args.seed)
    write_jsonl(records, args.out)
    print(f"wrote {len(records)} records to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
