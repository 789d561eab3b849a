"""MNPI training texts we wrote ourselves: price-sensitive events not yet public, and the same
events once public, plus general finance talk (hard negatives).

Families are event groups, so a leave-one-family-out split asks whether the model spots a kind of
event (say, a recall) it never saw as MNPI.
"""

from __future__ import annotations

import random

from faker import Faker
from multifaker import MultiFaker

# event group -> phrasings of the (future / undisclosed) event; {co} issuer, {co2} other firm,
# {n} a number, {p} a percentage, {name} a person.
EVENTS = {
    "results": [
        "our Q{q} revenue will come in {p}% below consensus",
        "{co} is going to miss the quarter by about ${n} million",
        "the preliminary numbers show EPS of ${n}.{q}{q} versus the street at ${n}.{p}",
        "{co} will cut full-year guidance to ${n} million on the call",
        "same-store sales fell {p}% last quarter and the print is Thursday",
        "we'll beat estimates by a wide margin this quarter",
        "{co} will book a ${n} million impairment on its European unit",
    ],
    "mna": [
        "{co} has agreed to acquire {co2} at ${n} a share",
        "{co2} is in exclusive talks to be bought by {co}",
        "the board of {co} accepted a ${n} billion takeover offer",
        "{co} plans a hostile tender offer for {co2} at a {p}% premium",
        "we signed the merger agreement with {co2} last night",
        "{co} will divest its {seg} division to {co2}",
    ],
    "regulatory": [
        "the FDA sent {co} a complete response letter rejecting its lead drug",
        "the regulator turned down {co}'s licence application",
        "{co}'s phase 3 trial missed its primary endpoint",
        "the regulator has refused {co}'s application to market its lead product",
        "{co}'s marketing authorisation was rejected by the agency this morning",
        "the EMA will not approve {co}'s biosimilar",
        "{co} just got approval for its device in the EU, nobody knows",
        "the competition authority is going to block the {co}-{co2} deal",
    ],
    "reserves": [
        "{co}'s proven reserves are being downgraded by {p}%",
        "the auditors will restate {co}'s last two years of earnings",
        "{co} breached its loan covenants and the banks are negotiating",
        "{co}'s auditor is resigning over accounting concerns",
        "we are writing down the {seg} mine, reserves were overstated",
        "the ratings agency will downgrade {co} to junk next week",
    ],
    "recall": [
        "{co} is recalling {n},000 units of its {seg} product over a safety defect",
        "a contamination issue means {co} will pull its best-selling line from shelves",
        "{co} found a defect in its batteries and will recall every unit sold this year",
        "the airbag fault at {co} will trigger a worldwide recall",
    ],
    "capital": [
        "{co} is launching an accelerated bookbuild for {p}% of its share capital tonight",
        "we're doing a placing at a {p}% discount after the close",
        "{co} will announce a ${n} million rights issue with the interims",
        "you've been wall-crossed on the {co} convertible bond deal",
        "{co} is suspending its dividend, the board decided this morning",
        "{co} will double its buyback to ${n} million",
        "{co}'s IPO will price at the top of the range, books are {q}x covered",
        "the bookbuild for {co}'s share offering opens tonight at a {p}% discount",
        "we are bringing a ${n}0 million placing in {co} to market before the open",
        "{co} will raise equity through an overnight placing; we're sounding out investors",
        "you are being wall-crossed: {co} plans a convertible bond issue next week",
    ],
    "leadership": [
        "{co}'s CEO {name} is stepping down and the board has picked a successor",
        "{name}, the CFO of {co}, has resigned effective Friday",
        "the board is firing {name} over the expenses investigation",
        "{co} will appoint {name} as chief executive",
        "the chairman of {co} is leaving and the board has chosen {name} to replace him",
        "{co}'s finance director was dismissed this morning over accounting irregularities",
    ],
    "operations": [
        "{co} is cutting {n}00 jobs and closing two plants",
        "{co2} is not renewing its contract with {co}, their largest customer",
        "{co} just won the ${n} billion defence contract",
        "{co} suffered a data breach affecting {n} million customers",
        "{co} will file for Chapter 11 protection",
        "{co}'s largest factory will be shut for three months after the fire",
    ],
}
# How the not-yet-public status is signalled (or not at all: a trade tip carries it by itself).
SECRECY = [
    "This isn't public yet.", "Keep this between us until the announcement.", "Embargoed until Monday 7am.",
    "Strictly confidential - insiders only.", "We announce on {day}.", "The market has no idea.",
    "Nothing has been disclosed.", "Don't forward this.", "The press release goes out {day}.",
    "Before anyone trades on it, check the wording.", "You're now an insider, so no dealing.",
    "Only the deal team knows.", "It won't be out until after the close.", "We haven't told the exchange yet.",
    "The RNS is drafted but not released.", "Board minutes, not for circulation.", "Between you and me.",
    "Don't say anything till it's announced.", "The street doesn't know.", "",
]
FRAMES = [
    "{event}. {secrecy}",
    "Heads up: {event}. {secrecy} Should I buy puts?",
    "Can you draft a press release saying {event}? {secrecy}",
    "Subject: Project {code}\n\nTeam - {event}. {secrecy} Please update the model.",
    "My friend at {co} told me {event}. {secrecy} Is it smart to sell my shares now?",
    "Summarise for the board: {event}. {secrecy}",
    "{secrecy} {event}, so let's load up before it hits the tape.",
    "Draft talking points for the analyst call - {event}. {secrecy}",
    "Help me word a message to our broker: {event}. {secrecy}",
    "Write the compliance log entry: {event}. {secrecy}",
    "Draft the email to the syndicate desk - {event}. {secrecy}",
    "FYI {event} {secrecy}",
    "Can you turn this into talking points for our sales team? {event}. {secrecy}",
    "Prepare the investor Q&A: {event}. {secrecy}",
    "Quick one: {event}. How much will the stock drop when it comes out? {secrecy}",
]
# Public framings of the same events: already announced, reported, historical.
PUBLIC_FRAMES = [
    "According to yesterday's press release, {event_past}. What does that mean for the stock?",
    "{co} announced last week that {event_past}. Summarise the analyst reactions.",
    "News: {event_past}, the company said in a filing on {day}. Write a neutral summary.",
    "Back in 2019, {event_past}. How did the share price react over the following month?",
    "For my MBA case study: {event_past}, as widely reported. What lessons are there?",
    "The Reuters article says {event_past}. Translate it into German.",
    "In its published annual report, {co} disclosed that {event_past}. Is this a red flag?",
]
PAST = {
    "results": ["{co} reported revenue {p}% below consensus", "{co} cut its full-year guidance", "{co} booked a ${n} million impairment"],
    "mna": ["{co} completed its acquisition of {co2}", "{co} agreed to buy {co2} at ${n} a share"],
    "regulatory": ["the FDA rejected {co}'s lead drug", "{co}'s phase 3 trial missed its primary endpoint"],
    "reserves": ["{co} downgraded its proven reserves by {p}%", "{co}'s auditor resigned"],
    "recall": ["{co} recalled {n},000 units of its {seg} product", "{co} pulled its best-selling line from shelves"],
    "capital": ["{co} raised ${n} million in a placing", "{co} suspended its dividend", "{co} priced its IPO at the top of the range"],
    "leadership": ["{co}'s CEO {name} stepped down", "{co} appointed {name} as chief executive"],
    "operations": ["{co} cut {n}00 jobs", "{co} won a ${n} billion defence contract", "{co} disclosed a data breach"],
}
GENERAL = [
    "What is a rights issue and why do share prices usually fall after one?",
    "Explain how an accelerated bookbuild works.",
    "What does 'wall-crossing' mean in equity capital markets?",
    "How should I think about diversifying my pension between index funds?",
    "What happens to a stock when a company is acquired for cash?",
    "Is it legal to trade on a rumour I read on a public forum?",
    "Explain insider trading rules in the UK for a compliance training deck.",
    "What is the difference between proven and probable oil reserves?",
    "How does a product recall usually affect a company's earnings?",
    "Write a generic template for an earnings press release with placeholders.",
    "What's a complete response letter from the FDA?",
    "Calculate the dividend yield if the share price is $40 and the annual dividend is $1.60.",
    "Summarise the main points of IFRS 16 for a junior accountant.",
    "What are typical covenants in a syndicated loan?",
    "Our team lunch is on Friday - can you suggest restaurants near the office?",
    "Draft an agenda for our quarterly planning offsite.",
    "How do I build a DCF model in Excel?",
    "What were the biggest corporate recalls of the last decade?",
    "When do US companies usually report Q3 earnings?",
    "Make a budget spreadsheet for a family of four.",
]
SEGMENTS = ["consumer", "medical devices", "cloud", "logistics", "battery", "snack", "chemicals", "retail banking", "copper"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "next week", "tomorrow morning", "the 14th", "after the close"]


def _fill(s: str, fake: Faker, rng: random.Random, co: str) -> str:
    return s.format(co=co, co2=fake.company(), n=rng.randint(2, 95), p=rng.randint(3, 40), q=rng.randint(1, 4),
                    name=fake.name(), seg=rng.choice(SEGMENTS), day=rng.choice(DAYS), code=fake.word().capitalize())


def build(seed: int = 16, per_group: int = 150) -> list[dict]:
    rows: list[dict] = []
    for gi, group in enumerate(EVENTS):
        rng = random.Random(seed * 1000 + gi)
        fake = MultiFaker(["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP", "en_AU"], seed * 1000 + gi)
        for _ in range(per_group):
            co = fake.company()
            event = _fill(rng.choice(EVENTS[group]), fake, rng, co)
            # A quarter carry no secrecy cue at all: the event and its timing are enough.
            secrecy = "" if rng.random() < 0.25 else _fill(rng.choice(SECRECY), fake, rng, co)
            frame = rng.choice(FRAMES)
            text = frame.format(event=event[0].upper() + event[1:] if frame.startswith("{event}") else event,
                                secrecy=secrecy, co=co, code=fake.word().capitalize()).strip()
            rows.append({"text": text, "PROMPT_INJECTION": 0, "MNPI": 1, "family": f"mnpi-{group}"})
            past = _fill(rng.choice(PAST[group]), fake, rng, co)
            neg = _fill(rng.choice(PUBLIC_FRAMES).replace("{event_past}", past), fake, rng, co)
            rows.append({"text": neg, "PROMPT_INJECTION": 0, "MNPI": 0, "family": f"neg-public-{group}"})
    rng = random.Random(seed)
    for t in GENERAL:
        rows.append({"text": t, "PROMPT_INJECTION": 0, "MNPI": 0, "family": "neg-finance-general"})
    return rows + internal(seed) + business(seed)


# Internal, even confidential, but not price-sensitive: secrecy cues without a material event.
INTERNAL = [
    "Confidential: the office move to the third floor happens {day}. Please pack your desks.",
    "Internal only - the new expense policy starts in {month}; draft an FAQ for staff.",
    "Don't share the offsite agenda yet, {name} is still finalising it. Can you tidy it up?",
    "Keep this between us: I'm planning a surprise party for {name} on {day}.",
    "Not public yet: our new logo. Write a teaser post we can use once it's approved.",
    "The mobile release {q}.{n} went to {p}% of users on {day}. Crash-free sessions are at 99.{q}%. Summarise for the team.",
    "Sprint {n} closed with {p} story points done; draft the retro notes.",
    "Embargoed until {day}: our blog post about the new recycling programme at the {city} office. Proofread it.",
    "Before the all-hands on {day}, help me prepare slides on the new hybrid work policy.",
    "HR confidential: {name} is going on parental leave in {month}. Draft the handover plan.",
    "We haven't announced the winner of the hackathon yet. Write a congratulations note for {name}.",
    "Draft the internal newsletter: new coffee machine, parking changes, and {name}'s retirement party.",
    "The customer survey results are in: NPS rose {p} points. Write a summary for the support team.",
    "Our team will miss the sprint goal by two tickets; how do I tell the product owner?",
    "Confidential salary bands for the {job} role are attached. Build a comparison table.",
    "The board meeting is on {day}; draft the agenda with the usual standing items.",
    "Our {city} store will close early on {day} for a stocktake. Write the sign for the door.",
]


def internal(seed: int = 16, n: int = 400) -> list[dict]:
    rng = random.Random(seed * 7)
    fake = MultiFaker(["en_US", "en_GB", "de_DE", "fr_FR"], seed * 7)
    rows = []
    for _ in range(n):
        t = rng.choice(INTERNAL).format(day=rng.choice(DAYS), month=fake.month_name(), name=fake.name(), q=rng.randint(1, 9),
                                        n=rng.randint(2, 60), p=rng.randint(2, 40), city=fake.city(), job=fake.job())
        rows.append({"text": t, "PROMPT_INJECTION": 0, "MNPI": 0, "family": "neg-internal-business"})
    return rows


# Everyday business requests that use the words of finance (board, quarter, figures, revenue,
# results, forecast) without any undisclosed price-sensitive event.
BUSINESS = [
    "Summarise the {period} figures for the board in three bullet points.",
    "Draft an agenda for the board meeting {when}.",
    "Draft an email to the board about the {event}.",
    "Prepare a slide on our {period} revenue for the all-hands.",
    "Create a budget template for {when}.",
    "Summarise the sales figures for {month} by region.",
    "Write talking points for the {period} business review with the {team} team.",
    "Turn these meeting notes from the board offsite into action items.",
    "Make a chart description for revenue by product line over the last {n} quarters.",
    "What KPIs should a {team} team report to the board each quarter?",
    "Help me write the {period} OKR update for my team.",
    "Proofread the minutes of yesterday's board meeting for typos.",
    "Draft a thank-you note to the board for approving the new {event}.",
    "Build a forecast template in Excel for {team} headcount.",
    "Write a one-page summary of our published annual report for new hires.",
    "Summarise the earnings call transcript of {co} from last week.",
    "Explain the difference between revenue and profit to a new sales rep.",
    "Draft the quarterly newsletter for customers about our new {event}.",
    "Give me a checklist for preparing the {period} board pack.",
    "Write a LinkedIn post celebrating our team's {period} results in customer satisfaction.",
    "Compare {co}'s last two published annual reports and list the main changes.",
    "How should I present budget variances to the CFO?",
    "Create an investor-relations FAQ from the press release we published today.",
    "Outline the agenda for the {period} planning session {when}.",
    "Summarise this spreadsheet of {month} expenses into five categories.",
    "Draft a memo announcing the {event} to all staff.",
    "Suggest questions the audit committee should ask about cybersecurity.",
    "Write the executive summary for our {period} marketing report.",
    "Give the {team} team a heads-up that the {event} starts {when}.",
    "Prepare the presentation for the board {when} about the {event}.",
    "The board asked for an update on the {event}; draft it in plain English.",
    "Heads up: the {period} planning deadline is {when}. Write a reminder for managers.",
    "Before the board meeting {when}, summarise the customer feedback themes.",
    "Let investors know the {event} went well - draft a short, friendly note.",
    "Our chairman wants a one-pager on the {event} by {when}.",
    "Keep it short: an update to the board on {team} hiring progress.",
    "Draft the CEO's welcome speech for the {event} {when}.",
    "We announce the winner of the {event} award {when}; write the congratulations post.",
    "The {period} town hall is {when}; prepare five questions staff might ask about the {event}.",
    "Remind the {team} leads to submit their {period} numbers {when}.",
    "Write an internal note: the {event} is postponed to {when}.",
    "Convert this list of board members into a table with their committees.",
    "How do I prepare for my first presentation to the board of directors?",
]
PERIODS = ["quarterly", "Q1", "Q2", "Q3", "Q4", "half-year", "annual", "monthly", "year-end", "FY25"]
WHENS = ["next week", "on Thursday", "next month", "tomorrow", "in March", "on the 14th"]
BUSINESS_EVENTS = ["offsite", "office move", "hybrid work policy", "training programme", "volunteering day", "travel policy",
          "expense tool", "mentoring scheme", "product launch event", "customer portal"]
TEAMS = ["sales", "finance", "engineering", "marketing", "support", "operations", "HR"]


def business(seed: int = 16, n: int = 700) -> list[dict]:
    rng = random.Random(seed * 11)
    fake = MultiFaker(["en_US", "en_GB", "de_DE", "fr_FR"], seed * 11)
    rows = []
    for _ in range(n):
        t = rng.choice(BUSINESS).format(period=rng.choice(PERIODS), when=rng.choice(WHENS), event=rng.choice(BUSINESS_EVENTS),
                                        team=rng.choice(TEAMS), month=fake.month_name(), n=rng.randint(2, 8),
                                        co=fake.company())
        rows.append({"text": t, "PROMPT_INJECTION": 0, "MNPI": 0, "family": "neg-business-generic"})
    return rows
