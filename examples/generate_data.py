"""Generate the demo dataset: synthetic customer-support Q&A for the fictional SaaS "Northwind Cloud".

The answers follow one house style ("Hi <first name>, <one sentence>. Steps: 1) ... 2) ... —
Northwind Support") so that a small model fine-tuned for a few LoRA steps visibly learns it. The
file also carries what real exports carry and the pipeline must handle: personal data (names,
emails, phone numbers, addresses, a few card numbers, SSNs, IBANs and IP addresses), four record
shapes (NeMo input/output, prompt/completion, chat messages, RAG question/contexts/answer), HTML
markup and odd whitespace, exact and near duplicates, and a handful of malformed lines.

    python examples/generate_data.py --seed 7 --n 3000 --out examples/data/support.jsonl

Same seed and n, same bytes. A summary of what was written is printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date, datetime
from pathlib import Path

from faker import Faker

# Fixed windows, never relative to today: the same seed must give the same bytes on any day.
DATES_FROM, DATES_TO = date(2026, 1, 1), date(2026, 12, 31)
EXPIRY_FROM, EXPIRY_TO = date(2027, 1, 1), date(2031, 12, 31)
MONTHS_UNTIL = datetime(2026, 11, 23)  # month names: Faker draws them from 1970 up to this
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # English whatever the process locale (strftime's %B follows LC_TIME)

SIGN_OFF = "— Northwind Support"
PLANS = {"Starter": 100, "Team": 600, "Business": 1500, "Enterprise": 5000}
IDPS = ["Okta", "Azure AD", "Google Workspace", "OneLogin", "JumpCloud", "Ping Identity"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
FORMATS = ["CSV", "JSON", "Parquet"]

TOPICS: dict[str, dict] = {
    "password_reset": {
        "q": [
            "I forgot my password and can't log in to Northwind Cloud. My login email is {email}.",
            "The password reset email never arrives. I've checked spam twice. Account: {email}",
            "Locked out after too many password attempts, can you help me get back in? I use {email}.",
            "How do I reset my password? I sign in as {email}.",
        ],
        "a": "Hi {first}, I have sent a new password reset link to {email}; it is valid for 30 minutes. "
        "Steps: 1) Open the email from support@northwind.example 2) Choose a password of at least "
        "12 characters 3) Sign in again at app.northwind.example.",
    },
    "sso_setup": {
        "q": [
            "We want to set up SAML single sign-on with {idp} for our workspace. Where do we start?",
            "Our IT team asks whether Northwind Cloud supports SSO through {idp}, and how to configure it.",
            "SSO login with {idp} fails with 'invalid audience'. What should the entity ID be?",
        ],
        "a": "Hi {first}, SAML SSO with {idp} is available on the Business and Enterprise plans. "
        "Steps: 1) In Admin > Security > SSO choose {idp} 2) Paste the metadata URL from {idp} and "
        "use urn:northwind:cloud as the entity ID 3) Test with one user before you enforce SSO.",
    },
    "rate_limit": {
        "q": [
            "We're on the {plan} plan and our integration keeps getting HTTP 429 Too Many Requests from the API.",
            "What is the API rate limit on the {plan} plan? Our nightly sync gets throttled.",
            "Our app gets 429 errors around {hour}:00 every day. We pay for {plan}. Is there a limit?",
        ],
        "a": "Hi {first}, the {plan} plan allows {limit} API requests per minute per workspace, and a 429 "
        "means you went over it. Steps: 1) Honour the Retry-After header and back off 2) Batch "
        "writes with the /v2/bulk endpoint 3) Ask your account manager if you need a higher limit.",
    },
    "data_export": {
        "q": [
            "How can I export all of our project data as {fmt}? We need it for an audit.",
            "I need a full {fmt} export of our workspace before our contract ends on {date}.",
            "Is there a way to download everything we stored in Northwind Cloud, ideally in {fmt}?",
        ],
        "a": "Hi {first}, you can export all workspace data as {fmt} from Settings > Data > Export. "
        "Steps: 1) Pick the projects to include 2) Click Start export 3) Download the archive from "
        "the link we email to {email} within 24 hours.",
    },
    "invoice_download": {
        "q": [
            "Where can I download invoice {invoice} as a PDF? Our accounts team needs it.",
            "I can't find invoice {invoice} in the portal. Can you send it to {email}?",
            "Our finance department asks for a copy of invoice {invoice} for {month}.",
        ],
        "a": "Hi {first}, invoice {invoice} is in Billing > Invoices, where you can download it as a PDF. "
        "Steps: 1) Open Billing > Invoices 2) Search for {invoice} 3) Click Download PDF or Email copy.",
    },
    "update_card": {
        "q": [
            "Our card on file expired, please charge the new one instead: {card}, exp {exp}.",
            "How do I change the credit card we pay with? The old one was cancelled.",
            "Payment failed this month. New card number {card}, expiry {exp}. Please update it.",
        ],
        "a": "Hi {first}, for your security please never send card numbers by email or chat; you can "
        "update the card yourself. Steps: 1) Open Billing > Payment methods 2) Click Add card and "
        "enter the new details 3) Set it as default and remove the old card.",
    },
    "refund": {
        "q": [
            "We were charged {amount} twice on invoice {invoice}. Please refund the duplicate charge.",
            "I cancelled before renewal but still got billed {amount} (invoice {invoice}). Can I get a refund?",
            "Requesting a refund of {amount} for invoice {invoice}, we downgraded last week.",
        ],
        "a": "Hi {first}, I have opened refund request {ticket} for {amount} on invoice {invoice}. "
        "Steps: 1) Finance reviews it within 2 business days 2) The money returns to the original "
        "payment method within 5-10 business days.",
    },
    "outage": {
        "q": [
            "Is Northwind Cloud down? Our dashboards in {region} have been timing out for an hour.",
            "We see 503 errors from the API in {region} since this morning. Is there an incident?",
            "Everything is very slow for our team in {region}. Is it on your side?",
        ],
        "a": "Hi {first}, we are aware of degraded performance in {region} and our engineers are working "
        "on it. Steps: 1) Follow updates on status.northwind.example 2) Subscribe to incident emails "
        "there 3) Reply to this ticket if problems continue after the incident is resolved.",
    },
    "add_seats": {
        "q": [
            "How do I add {seats} more users to our {plan} subscription?",
            "We hired {seats} people and need seats for them. We're on {plan}.",
            "Can I invite colleagues to our workspace? We have the {plan} plan and need {seats} more seats.",
        ],
        "a": "Hi {first}, admins can add {seats} seats on the {plan} plan in Admin > Members. Steps: 1) Click "
        "Invite members 2) Enter their work email addresses 3) Confirm the prorated charge.",
    },
    "mfa_reset": {
        "q": [
            "I lost my phone and can't get my two-factor codes anymore. You can reach me at {phone}.",
            "New phone, and my authenticator app is gone. How do I reset 2FA? Call me on {phone}.",
            "MFA locked me out after a factory reset of my phone. Best number: {phone}.",
        ],
        "a": "Hi {first}, to reset two-factor authentication we first need to verify your identity. Steps: "
        "1) We will call you at {phone} with a one-time code 2) Read the code back to the agent "
        "3) Enrol a new authenticator app after you sign in.",
    },
    "account_deletion": {
        "q": [
            "Please delete my account and all personal data under GDPR. Account email {email}.",
            "I want to close my Northwind Cloud account ({email}) and have my data erased.",
            "Right to erasure request: remove everything you hold about me, {name}, {email}.",
        ],
        "a": "Hi {first}, we will delete the account {email} and all of its data within 30 days, as GDPR "
        "requires. Steps: 1) Export anything you want to keep 2) Confirm the deletion link we "
        "sent to {email}.",
    },
    "plan_change": {
        "q": [
            "We'd like to switch from {plan} to {plan2}. How does billing work mid-cycle?",
            "How do I move our workspace from the {plan} plan to {plan2}?",
            "Can we change plans from {plan} to {plan2} without losing data?",
        ],
        "a": "Hi {first}, you can move from {plan} to {plan2} at any time and the price difference is "
        "prorated; no data is lost. Steps: 1) Open Billing > Plan 2) Choose {plan2} 3) Confirm the change.",
    },
    "webhooks": {
        "q": [
            "Our webhook endpoint stopped receiving events yesterday. Did you disable it?",
            "Webhook deliveries to our server fail with timeouts. How many retries do you do?",
            "Why was our webhook turned off? We had a deploy around {hour}:00 and now no events arrive.",
        ],
        "a": "Hi {first}, webhooks are retried 5 times over 24 hours and then disabled. Steps: 1) Make "
        "sure your endpoint returns a 2xx within 10 seconds 2) Check the delivery log in Developer > "
        "Webhooks 3) Re-enable the webhook once it is fixed.",
    },
    "api_keys": {
        "q": [
            "Do API keys expire? One of ours was created in {year}.",
            "We think an API key leaked in a public repo. How do we rotate it?",
            "What's the recommended way to rotate API keys without downtime?",
        ],
        "a": "Hi {first}, API keys do not expire, but we recommend rotating them every 90 days. Steps: "
        "1) Create a new key in Developer > API keys 2) Deploy it to your services 3) Revoke the old key.",
    },
    "ip_allowlist": {
        "q": [
            "Our office IP {ip} gets 'access denied' when we open the app. Can you unblock it?",
            "Please add {ip} to our allowlist, it's our new VPN exit address.",
            "Users behind {ip} cannot log in since we enabled IP restrictions.",
        ],
        "a": "Hi {first}, the IP allowlist is managed by your workspace admins. Steps: 1) Go to Admin > "
        "Security > IP allowlist 2) Add {ip} 3) Save; the change applies within 5 minutes.",
    },
    "billing_address": {
        "q": [
            "Please change our billing address to {address}.",
            "We moved offices. New address for invoices: {address}",
            "Our invoices show an old address. The correct one is {address}.",
        ],
        "a": "Hi {first}, I have updated your billing address to {address_line}; it will appear on your "
        "next invoice. Steps: 1) Check Billing > Company details 2) Add your VAT ID there if needed.",
    },
    "ownership_transfer": {
        "q": [
            "Our workspace owner left the company. I'm the new IT lead, my SSN is {ssn} if you need to verify me.",
            "How do I transfer ownership of our workspace to me? For verification my social security number is {ssn}.",
            "The account owner is on leave and we need to change ownership. Can you do it?",
        ],
        "a": "Hi {first}, please never share your social security number with us; we do not need it. Steps: "
        "1) The current owner or an admin opens Admin > Members 2) Chooses Transfer ownership and "
        "selects you.",
    },
    "bank_transfer": {
        "q": [
            "Can we pay by bank transfer instead of card? Our IBAN is {iban}.",
            "We want SEPA direct debit for the annual plan. Account: {iban}.",
            "Finance prefers wire transfers. Please set up payment from IBAN {iban}.",
        ],
        "a": "Hi {first}, bank transfer is available for annual Business and Enterprise plans. Steps: "
        "1) In Billing > Payment methods choose Bank transfer 2) Add the IBAN {iban} 3) Quote the "
        "reference on your invoice when you pay.",
    },
}

KB = [
    ("KB-101", "Resetting your password", "password_reset",
     "Password reset links are sent from support@northwind.example and stay valid for 30 minutes. "
     "New passwords need at least 12 characters. After five failed sign-ins an account is locked for 15 minutes.",
     "reset links are valid for 30 minutes and new passwords need at least 12 characters"),
    ("KB-102", "Single sign-on (SAML)", "sso_setup",
     "SAML single sign-on is included in the Business and Enterprise plans. Supported identity providers "
     "include Okta, Azure AD, Google Workspace and OneLogin. The service provider entity ID is urn:northwind:cloud.",
     "SAML SSO is included in the Business and Enterprise plans and the entity ID is urn:northwind:cloud"),
    ("KB-103", "API rate limits", "rate_limit",
     "Requests are limited per workspace: Starter 100, Team 600, Business 1500 and Enterprise 5000 requests "
     "per minute. Throttled requests get HTTP 429 with a Retry-After header.",
     "limits are per workspace per minute (Starter 100, Team 600, Business 1500, Enterprise 5000) "
     "and a 429 comes with a Retry-After header"),
    ("KB-104", "Exporting workspace data", "data_export",
     "Workspace admins can export all data as CSV, JSON or Parquet from Settings > Data > Export. "
     "A download link is emailed when the archive is ready, usually within 24 hours, and expires after 7 days.",
     "admins export data as CSV, JSON or Parquet from Settings > Data > Export and the download link arrives within 24 hours"),
    ("KB-105", "Invoices and receipts", "invoice_download",
     "Invoices are issued on the first day of each billing period and are listed in Billing > Invoices. "
     "Each invoice can be downloaded as a PDF or emailed to the billing contact.",
     "invoices are issued on the first day of each billing period and can be downloaded as PDFs from Billing > Invoices"),
    ("KB-106", "Refund policy", "refund",
     "Duplicate charges are always refunded. Annual plans cancelled within 14 days of renewal get a prorated refund. "
     "Finance reviews requests within 2 business days; money arrives within 5-10 business days.",
     "finance reviews refund requests within 2 business days and the money arrives within 5-10 business days"),
    ("KB-107", "Service status and incidents", "outage",
     "Live service status for every region is published on status.northwind.example. Customers can subscribe "
     "to incident emails there. Scheduled maintenance is announced 72 hours in advance.",
     "live status for every region is on status.northwind.example, where you can subscribe to incident emails"),
    ("KB-108", "Two-factor authentication", "mfa_reset",
     "Two-factor authentication can be reset only after identity verification by phone. The support agent "
     "calls the number on file and reads a one-time code. Users then enrol a new authenticator app.",
     "2FA is reset only after we verify your identity by phone with a one-time code"),
    ("KB-109", "Deleting an account", "account_deletion",
     "Account deletion requests are completed within 30 days in line with GDPR. Deleted data cannot be "
     "restored, so export anything you need first. Backups are purged after a further 30 days.",
     "deletion is completed within 30 days under GDPR and deleted data cannot be restored"),
    ("KB-110", "Webhook delivery", "webhooks",
     "Webhook deliveries time out after 10 seconds. Failed deliveries are retried 5 times over 24 hours, "
     "after which the webhook is disabled and the workspace admins are emailed.",
     "failed webhook deliveries are retried 5 times over 24 hours and then the webhook is disabled"),
    ("KB-111", "API keys", "api_keys",
     "API keys do not expire. Northwind recommends rotating keys every 90 days and immediately after any "
     "suspected leak. Revoked keys stop working within one minute.",
     "API keys do not expire, but you should rotate them every 90 days"),
    ("KB-112", "Changing plans", "plan_change",
     "Plans can be upgraded or downgraded at any time from Billing > Plan. Price differences are prorated "
     "to the day, and no data is lost when changing plans.",
     "plan changes are prorated to the day and no data is lost"),
]

RAG_QUESTIONS = {
    "password_reset": ["How long is a password reset link valid?", "What are the password rules for {product}?"],
    "sso_setup": ["Which plans include SSO, and what entity ID do we use for {idp}?", "Can we use {idp} for SSO?"],
    "rate_limit": ["What is the API rate limit on {plan}?", "Why does our {plan} workspace get HTTP 429?"],
    "data_export": ["How do I export our data as {fmt}?", "How long does a {fmt} export take?"],
    "invoice_download": ["Where do I find the invoice for {month}?", "When is the {month} invoice issued?"],
    "refund": ["How long does a refund of {amount} take?", "When will we get the {amount} back?"],
    "outage": ["Where can I check if {region} is down?", "How do I hear about incidents in {region}?"],
    "mfa_reset": ["How do I reset 2FA after losing my phone?", "What is needed to reset MFA for {product}?"],
    "account_deletion": ["How long does account deletion take?", "Can a deleted {product} account be restored?"],
    "webhooks": ["How often are failed webhooks retried?", "Why was our {product} webhook disabled?"],
    "api_keys": ["Do API keys expire?", "How often should we rotate {product} API keys?"],
    "plan_change": ["What happens to billing when we move from {plan} to {plan2}?", "Do we lose data going to {plan2}?"],
}

OPENERS = ["", "Hi,", "Hello,", "Hi team,", "Hello Northwind support,", "Hey there,", "Good morning,"]
CLOSERS = [
    "Thanks, {name}", "Regards,\n{name}", "Best, {name} ({company})", "{name} | {title}, {company}",
    "Thanks!\n{name}\n{phone}", "Cheers, {name} - {email}", "-- {name}, {company}, {phone}",
    "Kind regards, {name}\n{address}", "{name}",
]
PRODUCTS = ["Northwind Cloud", "Northwind Analytics", "Northwind Sync", "the Northwind API"]


class Generator:
    """Deterministic record factory: every random choice goes through one seeded Random."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fakes = {loc: Faker(loc) for loc in ("en_US", "en_GB", "de_DE")}
        for i, fake in enumerate(self.fakes.values()):
            fake.seed_instance(seed * 31 + i)

    def fake(self) -> Faker:
        return self.fakes[self.rng.choices(["en_US", "en_GB", "de_DE"], weights=[8, 1, 1])[0]]

    def slots(self) -> dict:
        f, us = self.fake(), self.fakes["en_US"]
        first, last = f.first_name(), f.last_name()
        plan, plan2 = self.rng.sample(list(PLANS), 2)
        address = f.address()
        card = us.credit_card_number(card_type=self.rng.choice(["visa16", "mastercard", "amex"]))
        if self.rng.random() < 0.5 and len(card) == 16:
            card = " ".join(card[i:i + 4] for i in range(0, 16, 4))
        domain = self.rng.choice([f.domain_name(), "gmail.com", "outlook.com", f.domain_name()])
        return {
            "first": first, "name": f"{first} {last}",
            "email": f"{first}.{last}@{domain}".lower().replace(" ", ""),
            "phone": f.phone_number(), "address": address, "address_line": address.replace("\n", ", "),
            "company": us.company(), "title": us.job(), "plan": plan, "plan2": plan2, "limit": PLANS[plan],
            "idp": self.rng.choice(IDPS), "region": self.rng.choice(REGIONS), "fmt": self.rng.choice(FORMATS),
            "invoice": f"INV-{self.rng.randint(2023, 2026)}-{self.rng.randint(1, 99999):05d}",
            "ticket": f"RF-{self.rng.randint(100000, 999999)}",
            "amount": f"{self.rng.choice('$€£')}{self.rng.randint(19, 4999)}.{self.rng.choice(['00', '50', '99'])}",
            "card": card, "exp": us.date_between_dates(EXPIRY_FROM, EXPIRY_TO).strftime("%m/%y"), "ssn": us.ssn(), "iban": f.iban(),
            "ip": us.ipv4_public(), "date": us.date_between_dates(DATES_FROM, DATES_TO).isoformat(), "month": MONTHS[us.date_time(end_datetime=MONTHS_UNTIL).month - 1],
            "year": self.rng.randint(2019, 2025), "hour": self.rng.randint(0, 23), "seats": self.rng.randint(2, 40),
            "product": self.rng.choice(PRODUCTS), "workspace": f"ws-{self.rng.randint(100000, 999999)}",
        }

    def support_pair(self) -> tuple[str, str]:
        topic = TOPICS[self.rng.choice(list(TOPICS))]
        s = self.slots()
        body = self.rng.choice(topic["q"]).format(**s)
        opener = self.rng.choice(OPENERS)
        signed = self.rng.random() < 0.85
        closer = self.rng.choice(CLOSERS).format(**s) if signed else f"Workspace: {s['workspace']}"
        question = "\n".join(p for p in (opener, body, closer) if p)
        answer = topic["a"].format(**s) + " " + SIGN_OFF
        if not signed:
            answer = answer.replace(f"Hi {s['first']},", "Hi there,", 1)
        return question, answer

    def rag_record(self) -> dict:
        doc_id, title, topic, text, fact = self.rng.choice(KB)
        s = self.slots()
        question = self.rng.choice(RAG_QUESTIONS[topic]).format(**s)
        if self.rng.random() < 0.7:
            question = f"{question} I'm {s['name']} from {s['company']}."
        else:
            question = f"{question} (workspace {s['workspace']})"
        contexts = [f"[{doc_id}] {title}: {text}"]
        if self.rng.random() < 0.5:
            other = self.rng.choice([k for k in KB if k[0] != doc_id])
            contexts.insert(self.rng.randrange(2), f"[{other[0]}] {other[1]}: {other[3]}")
        greeting = s["first"] if s["name"] in question else "there"
        answer = f'Hi {greeting}, according to "{title}" ({doc_id}), {fact}. {SIGN_OFF}'
        return {"question": question, "contexts": contexts, "answer": answer}

    def messy(self, text: str) -> str:
        """HTML markup, entities and odd whitespace of the kind support-desk exports carry."""
        kind = self.rng.randrange(6)
        if kind == 0:
            return "<p>" + "</p><p>".join(text.split("\n")) + "</p>"
        if kind == 1:
            return text.replace("\n", "<br>\n").replace(" and ", " &amp; ").replace("'", "&#39;")
        if kind == 2:
            return "  " + text.replace(" ", "  ", 3).replace("\n", " \t\n") + "   "
        if kind == 3:
            return text.replace(" ", "\u00a0", 2) + "\u200b"
        if kind == 4:
            return "<div class=\"msg\"><b>" + text + "</b>&nbsp;</div>"
        return text.replace("\n", "\r\n\r\n")

    def record(self) -> dict:
        if self.rng.random() < 0.20:
            rec = self.rag_record()
            if self.rng.random() < 0.06:
                rec["question"] = self.messy(rec["question"])
            return rec
        question, answer = self.support_pair()
        if self.rng.random() < 0.08:
            question = self.messy(question)
        if self.rng.random() < 0.02:
            answer = self.messy(answer)
        roll = self.rng.random()
        if roll < 0.69:
            return {"input": question, "output": answer}
        if roll < 0.84:
            return {"prompt": question, "completion": answer}
        messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        if self.rng.random() < 0.5:
            messages.insert(0, {"role": "system", "content": "You are the Northwind Cloud support assistant."})
        return {"messages": messages}

    def near_duplicate(self, rec: dict) -> dict:
        """The same record with a small edit to its question (what a re-sent ticket looks like)."""
        rec = json.loads(json.dumps(rec))
        key = next(k for k in ("input", "prompt", "question") if k in rec) if "messages" not in rec else None
        text = rec[key] if key else rec["messages"][-2]["content"]
        edits = [
            lambda t: t.replace("Hi,", "Hello,", 1) if "Hi," in t else "Hello, " + t,
            lambda t: t + " Thanks!",
            lambda t: t.replace("?", "??", 1) if "?" in t else t + " Please help.",
            lambda t: t.replace(" the ", " our ", 1) if " the " in t else t + " Urgent.",
            lambda t: t.rstrip(".") + " - any update?",
        ]
        text = self.rng.choice(edits)(text)
        if key:
            rec[key] = text
        else:
            rec["messages"][-2]["content"] = text
        return rec

    def malformed(self, good: list[str]) -> list[str]:
        """One or two lines of each kind of breakage the ingest stage must quarantine."""
        q, a = self.support_pair()
        line = lambda obj: json.dumps(obj, ensure_ascii=False)  # noqa: E731
        trunc = [self.rng.choice(good), self.rng.choice(good)]
        return [
            trunc[0][: len(trunc[0]) // 2],
            trunc[1][: len(trunc[1]) - 7],
            "<html><body>502 Bad Gateway</body></html>",
            "ticket export interrupted -- 1832 rows remaining",
            line({"input": q, "output": 42}),
            line({"prompt": q, "completion": ["Please see the docs.", "Thanks"]}),
            line({"input": q}),
            line({"question": q, "contexts": [f"[{KB[0][0]}] {KB[0][1]}: {KB[0][3]}"]}),
            line({"input": "   ", "output": a}),
            line({"prompt": q, "completion": ""}),
            line({"messages": [{"role": "assistant", "content": a}, {"role": "user", "content": q}]}),
            line({"messages": [{"role": "system", "content": "Be helpful."}, {"role": "assistant", "content": a},
                               {"role": "user", "content": q}]}),
            line({"ticket_id": 88231, "body": q, "status": "closed"}),
        ]


def generate(seed: int, n: int) -> tuple[list[str], dict]:
    """`n` JSONL lines: ~3% exact duplicates, ~3% near duplicates, 13 malformed lines, shuffled."""
    gen = Generator(seed)
    n_dup = n_near = round(n * 0.03)
    n_bad = 13
    n_base = n - n_dup - n_near - n_bad
    if n_base < 10:
        raise SystemExit(f"--n {n} is too small: use at least {n_dup + n_near + n_bad + 10}")
    records = [gen.record() for _ in range(n_base)]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    exact = [gen.rng.choice(lines) for _ in range(n_dup)]
    near = [json.dumps(gen.near_duplicate(gen.rng.choice(records)), ensure_ascii=False) for _ in range(n_near)]
    bad = gen.malformed(lines)
    out = lines + exact + near + bad
    gen.rng.shuffle(out)
    shapes = {"input_output": 0, "prompt_completion": 0, "chat": 0, "rag": 0}
    for r in records:
        key = "chat" if "messages" in r else "rag" if "question" in r else \
            "input_output" if "input" in r else "prompt_completion"
        shapes[key] += 1
    summary = {"seed": seed, "lines": len(out), "base_records": n_base, "exact_duplicates": n_dup,
               "near_duplicates": n_near, "malformed": n_bad, "base_shapes": shapes,
               "distinct_base_lines": len(set(lines))}
    return out, summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n", type=int, default=3000, help="number of lines to write")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "support.jsonl")
    args = parser.parse_args(argv)
    lines, summary = generate(args.seed, args.n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    json.dump({"out": str(args.out), **summary}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
