"""Pure: the names the synthetic organisation is made of (people, places, teams), so a demo reads like a company."""

from __future__ import annotations

# Time zones by region: a team works mostly from its region, with a few people elsewhere.
REGION_ZONES: dict[str, tuple[str, ...]] = {
    "EMEA": ("Europe/London", "Europe/Berlin"),
    "AMER": ("America/New_York", "America/Los_Angeles"),
    "APAC": ("Asia/Kolkata", "Australia/Sydney"),
}
# Rough UTC offset of a region's working day, to put helpdesk work in its daytime.
REGION_UTC_OFFSET_HOURS: dict[str, float] = {"EMEA": 1.0, "AMER": -6.0, "APAC": 7.0}
REGIONS = tuple(REGION_ZONES)

FIRST_NAMES = (
    "Aisha", "Aleksander", "Amara", "Ana", "André", "Anika", "Arjun", "Ayumi", "Beatriz", "Ben",
    "Bongani", "Camille", "Carlos", "Chen", "Chiara", "Chloé", "Daniel", "Daniela", "Dev", "Diego",
    "Elena", "Elif", "Emeka", "Emma", "Erik", "Fatima", "Felix", "Freya", "Gabriel", "Grace",
    "Hana", "Hannah", "Hiroshi", "Ibrahim", "Ines", "Isabel", "Ivan", "Jae-won", "James", "Jana",
    "Javier", "Jonas", "Julia", "Kai", "Kavya", "Kenji", "Kofi", "Lars", "Laura", "Leila",
    "Liam", "Lina", "Lucas", "Luca", "Maja", "Malik", "Maria", "Mateo", "Maya", "Mei",
    "Mohammed", "Nadia", "Naveen", "Nia", "Noah", "Nora", "Olga", "Omar", "Oscar", "Priya",
    "Rahul", "Rosa", "Ruth", "Sakura", "Samuel", "Sara", "Sebastián", "Siddharth", "Sofia", "Sven",
    "Tariq", "Thabo", "Tom", "Valentina", "Wei", "Yara", "Yusuf", "Zanele", "Zoe", "Zsofia",
)  # fmt: skip
LAST_NAMES = (
    "Abebe", "Adeyemi", "Ahmed", "Andersson", "Bauer", "Becker", "Bianchi", "Brown", "Castillo", "Chatterjee",
    "Chen", "Cohen", "Costa", "Dubois", "Dlamini", "Eriksen", "Fernandes", "Fischer", "García", "Gupta",
    "Haddad", "Hansen", "Hernández", "Hoffmann", "Ito", "Iyer", "Jansen", "Johnson", "Kamau", "Kapoor",
    "Kim", "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Mahlangu", "Martin", "Meyer", "Mensah",
    "Moreau", "Müller", "Murphy", "Nakamura", "Nguyen", "Novak", "Nowak", "Okafor", "Oliveira", "O'Brien",
    "Park", "Patel", "Pereira", "Petrov", "Rahman", "Reddy", "Rossi", "Sato", "Schmidt", "Schneider",
    "Silva", "Singh", "Sokolova", "Suzuki", "Svensson", "Tanaka", "Taylor", "Tshabalala", "Van Dijk", "Varga",
    "Wagner", "Walsh", "Wang", "Weber", "Williams", "Wong", "Yamamoto", "Yilmaz", "Zhang", "Zielinski",
)  # fmt: skip

EMAIL_DOMAIN = "brightwell.example"

PLACES: tuple[tuple[str, str], ...] = (
    ("Lisbon", "EMEA"), ("Dublin", "EMEA"), ("London", "EMEA"), ("Berlin", "EMEA"), ("Amsterdam", "EMEA"),
    ("Madrid", "EMEA"), ("Warsaw", "EMEA"), ("Paris", "EMEA"), ("Stockholm", "EMEA"), ("Milan", "EMEA"),
    ("Prague", "EMEA"), ("Cape Town", "EMEA"), ("Nairobi", "EMEA"), ("Tel Aviv", "EMEA"),
    ("Austin", "AMER"), ("Toronto", "AMER"), ("Denver", "AMER"), ("Chicago", "AMER"), ("Boston", "AMER"),
    ("Seattle", "AMER"), ("Mexico City", "AMER"), ("São Paulo", "AMER"), ("Bogotá", "AMER"), ("Atlanta", "AMER"),
    ("Vancouver", "AMER"), ("New York", "AMER"), ("Montreal", "AMER"),
    ("Bengaluru", "APAC"), ("Singapore", "APAC"), ("Sydney", "APAC"), ("Manila", "APAC"), ("Tokyo", "APAC"),
    ("Seoul", "APAC"), ("Pune", "APAC"), ("Melbourne", "APAC"), ("Auckland", "APAC"), ("Hyderabad", "APAC"),
    ("Kuala Lumpur", "APAC"), ("Jakarta", "APAC"),
)  # fmt: skip

# The first teams of every organisation, in this order; larger ones add generated names after them.
CRUNCH_TEAM = ("Support EMEA", "EMEA")
SUPPORT_TEAMS: tuple[tuple[str, str], ...] = (CRUNCH_TEAM, ("Support Americas", "AMER"), ("Support APAC", "APAC"))
OTHER_TEAMS: tuple[tuple[str, str | None], ...] = (
    ("Platform Engineering", None),
    ("Product Design", None),
    ("Sales North America", "AMER"),
    ("Marketing", None),
    ("Finance", "EMEA"),
    ("Data Science", None),
    ("People Operations", None),
)
SMALL_TEAM = ("Legal", "EMEA")

SUPPORT_SPECIALTIES = (
    "Billing", "Technical", "Onboarding", "Enterprise", "Payments", "Escalations", "Accounts", "Integrations",
    "Mobile", "Returns", "Shipping", "Partner", "Premium", "Self-Serve", "API", "Security", "Compliance",
    "Orders", "Subscriptions", "Hardware",
)  # fmt: skip
AREAS = (
    "Platform", "Payments", "Search", "Growth", "Mobile", "Data", "Infrastructure", "Identity", "Checkout",
    "Onboarding", "Analytics", "Security", "Integrations", "Reporting", "Notifications", "Marketplace",
    "Partnerships", "Localization", "Developer Experience", "Pricing",
)  # fmt: skip
FUNCTIONS = ("Engineering", "Design", "Product", "Marketing", "Sales", "Operations", "Research", "Quality")
