"""Static word lists the demo competition is generated from.

Plain data only: the generator in :mod:`competition.demo.seed` draws from these lists with a fixed
seed, so reordering or editing an entry changes the generated demo data.
"""

from __future__ import annotations

from typing import Final

# (city, federal state code, weight): the weight says how many organisations a city tends to have.
CITIES: Final[tuple[tuple[str, str, int], ...]] = (
    ("Stuttgart", "BW", 5),
    ("Karlsruhe", "BW", 4),
    ("Mannheim", "BW", 3),
    ("Freiburg im Breisgau", "BW", 3),
    ("Heidelberg", "BW", 3),
    ("Ulm", "BW", 2),
    ("Tübingen", "BW", 2),
    ("Konstanz", "BW", 1),
    ("Heilbronn", "BW", 1),
    ("Reutlingen", "BW", 1),
    ("München", "BY", 6),
    ("Nürnberg", "BY", 4),
    ("Augsburg", "BY", 2),
    ("Regensburg", "BY", 2),
    ("Würzburg", "BY", 2),
    ("Erlangen", "BY", 3),
    ("Ingolstadt", "BY", 2),
    ("Bamberg", "BY", 1),
    ("Bayreuth", "BY", 1),
    ("Passau", "BY", 1),
    ("Berlin", "BE", 8),
    ("Potsdam", "BB", 3),
    ("Cottbus", "BB", 2),
    ("Frankfurt (Oder)", "BB", 1),
    ("Brandenburg an der Havel", "BB", 1),
    ("Wildau", "BB", 1),
    ("Eberswalde", "BB", 1),
    ("Bremen", "HB", 3),
    ("Bremerhaven", "HB", 1),
    ("Hamburg", "HH", 6),
    ("Frankfurt am Main", "HE", 5),
    ("Darmstadt", "HE", 3),
    ("Kassel", "HE", 2),
    ("Gießen", "HE", 1),
    ("Marburg", "HE", 1),
    ("Wiesbaden", "HE", 1),
    ("Rostock", "MV", 2),
    ("Greifswald", "MV", 2),
    ("Schwerin", "MV", 1),
    ("Wismar", "MV", 1),
    ("Stralsund", "MV", 1),
    ("Hannover", "NI", 4),
    ("Braunschweig", "NI", 3),
    ("Göttingen", "NI", 2),
    ("Oldenburg", "NI", 2),
    ("Osnabrück", "NI", 1),
    ("Wolfsburg", "NI", 2),
    ("Clausthal-Zellerfeld", "NI", 1),
    ("Lüneburg", "NI", 1),
    ("Köln", "NW", 5),
    ("Düsseldorf", "NW", 4),
    ("Dortmund", "NW", 3),
    ("Essen", "NW", 3),
    ("Bochum", "NW", 2),
    ("Aachen", "NW", 4),
    ("Münster", "NW", 2),
    ("Bielefeld", "NW", 2),
    ("Duisburg", "NW", 2),
    ("Paderborn", "NW", 1),
    ("Wuppertal", "NW", 1),
    ("Bonn", "NW", 2),
    ("Siegen", "NW", 1),
    ("Mainz", "RP", 2),
    ("Kaiserslautern", "RP", 2),
    ("Trier", "RP", 1),
    ("Koblenz", "RP", 1),
    ("Ludwigshafen am Rhein", "RP", 1),
    ("Saarbrücken", "SL", 2),
    ("Homburg", "SL", 1),
    ("Dresden", "SN", 5),
    ("Leipzig", "SN", 4),
    ("Chemnitz", "SN", 3),
    ("Freiberg", "SN", 1),
    ("Zwickau", "SN", 1),
    ("Mittweida", "SN", 1),
    ("Magdeburg", "ST", 3),
    ("Halle (Saale)", "ST", 2),
    ("Dessau-Roßlau", "ST", 1),
    ("Merseburg", "ST", 1),
    ("Wernigerode", "ST", 1),
    ("Kiel", "SH", 3),
    ("Lübeck", "SH", 2),
    ("Flensburg", "SH", 1),
    ("Jena", "TH", 3),
    ("Erfurt", "TH", 2),
    ("Ilmenau", "TH", 2),
    ("Weimar", "TH", 1),
    ("Gera", "TH", 1),
)

# A wider region per federal state, for titles such as "... in Central Germany".
REGIONS: Final[dict[str, tuple[str, ...]]] = {
    "BW": ("Baden-Württemberg", "the Rhine-Neckar region", "the Stuttgart region"),
    "BY": ("Bavaria", "the Nuremberg metropolitan region", "Upper Bavaria"),
    "BE": ("Berlin", "the capital region"),
    "BB": ("Brandenburg", "Lusatia", "the capital region"),
    "HB": ("Bremen", "the North Sea coast"),
    "HH": ("Hamburg", "the Hamburg metropolitan region"),
    "HE": ("Hesse", "the Rhine-Main region"),
    "MV": ("Mecklenburg-Western Pomerania", "the Baltic coast"),
    "NI": ("Lower Saxony", "the Hanover-Brunswick region"),
    "NW": ("North Rhine-Westphalia", "the Ruhr", "the Rhineland"),
    "RP": ("Rhineland-Palatinate", "the Upper Rhine"),
    "SL": ("Saarland", "the Greater Region"),
    "SN": ("Saxony", "Central Germany", "Lusatia"),
    "ST": ("Saxony-Anhalt", "Central Germany"),
    "SH": ("Schleswig-Holstein", "the Baltic coast"),
    "TH": ("Thuringia", "Central Germany"),
}

# --- organisation names -------------------------------------------------------------------------

UNIVERSITY_PATTERNS: Final[tuple[str, ...]] = (
    "Universität {city}",
    "Technische Universität {city}",
    "Hochschule {city}",
    "Technische Hochschule {city}",
    "Hochschule für Technik und Wirtschaft {city}",
    "Hochschule für angewandte Wissenschaften {city}",
)

RESEARCH_PATTERNS: Final[tuple[str, ...]] = (
    "Institut für {field} {city}",
    "Zentrum für {field} {city}",
    "Forschungszentrum für {field} {city}",
    "{founder}-Institut für {field}",
    "Landesinstitut für {field} {city}",
)

RESEARCH_FIELDS: Final[tuple[str, ...]] = (
    "Angewandte Photonik",
    "Lasertechnik",
    "Quantentechnologie",
    "Wasserstofftechnologie",
    "Batterieforschung",
    "Energiesystemtechnik",
    "Netzintegration",
    "Medizinische Bildgebung",
    "Digitale Medizin",
    "Biomedizinische Technik",
    "Infektionsforschung",
    "Künstliche Intelligenz",
    "Vernetzte Systeme",
    "Medien und Kreativwirtschaft",
    "Mikrosystemtechnik",
    "Materialforschung",
    "Produktionstechnik",
    "Verkehrsforschung",
    "Logistik",
    "Autonome Systeme",
)

FOUNDERS: Final[tuple[str, ...]] = (
    "Ernst-Abbe",
    "Emmy-Noether",
    "Lise-Meitner",
    "Otto-Lilienthal",
    "Konrad-Zuse",
    "Hertha-Sponer",
    "Carl-Zeiss",
    "Clara-Immerwahr",
    "Werner-Siemens",
    "Ida-Noddack",
    "Rudolf-Diesel",
    "Maria-Goeppert",
    "Joseph-Fraunhofer",
    "Melitta-Bentz",
)

COMPANY_PREFIXES: Final[tuple[str, ...]] = (
    "Nord",
    "Süd",
    "West",
    "Ost",
    "Rhein",
    "Elb",
    "Main",
    "Isar",
    "Neckar",
    "Weser",
    "Harz",
    "Spree",
    "Havel",
    "Ostsee",
    "Alpen",
    "Saale",
    "Mosel",
    "Donau",
    "Ruhr",
    "Lausitz",
    "Werra",
    "Eifel",
)

COMPANY_SUFFIXES: Final[tuple[str, ...]] = (
    "tec",
    "tronic",
    "wave",
    "optik",
    "energie",
    "werk",
    "logistik",
    "med",
    "soft",
    "data",
    "mobil",
    "licht",
    "sense",
    "volt",
    "chem",
    "systems",
    "motion",
    "photon",
    "grid",
    "bau",
)

LARGE_ENTERPRISE_FORMS: Final[tuple[str, ...]] = ("AG", "SE", "Holding AG", "Werke AG", "Group SE")

SME_FORMS: Final[tuple[str, ...]] = ("GmbH", "GmbH & Co. KG", "GmbH", "KG")

SME_TRADES: Final[tuple[str, ...]] = (
    "Feinmechanik",
    "Präzisionsoptik",
    "Sensortechnik",
    "Anlagenbau",
    "Elektronik",
    "Messtechnik",
    "Medizintechnik",
    "Softwareentwicklung",
    "Automatisierung",
    "Kunststofftechnik",
    "Lasersysteme",
    "Fördertechnik",
    "Energietechnik",
    "Medienproduktion",
)

START_UP_STEMS: Final[tuple[str, ...]] = (
    "Quantix",
    "Lumora",
    "Voltaic",
    "Nexa",
    "Helio",
    "Cura",
    "Vitalis",
    "Pixelwerk",
    "Routify",
    "Fluxon",
    "Sensiq",
    "Hydron",
    "Medlytic",
    "Photonik One",
    "Cellvia",
    "Trailhub",
    "Gridly",
    "Cognita",
    "Opticore",
    "Mobilo",
    "Aerolux",
    "Synapto",
    "Kinetiq",
    "Brightcell",
    "Datavia",
    "Neuronic",
    "Solvento",
    "Heliora",
    "Tracefy",
    "Medisense",
    "Volterra",
    "Cargonaut",
    "Photonix",
    "Immunova",
    "Streamcraft",
    "Qubitec",
    "Wattbox",
    "Sanovia",
    "Ferrolink",
    "Lidarix",
)

START_UP_FORMS: Final[tuple[str, ...]] = (
    "GmbH",
    "Labs GmbH",
    "Technologies GmbH",
    "UG (haftungsbeschränkt)",
    "AI GmbH",
)

SOCIETY_PATTERNS: Final[tuple[str, ...]] = (
    "Stadt {city}",
    "Industrie- und Handelskammer {city}",
    "Handwerkskammer {city}",
    "Universitätsklinikum {city}",
    "Stadtwerke {city}",
    "Wirtschaftsförderung {city}",
    "Bürgerstiftung {city}",
    "Verkehrsverbund {city}",
    "Innovationsnetzwerk {city} e.V.",
    "Kreativwirtschaft {city} e.V.",
)

# --- people ------------------------------------------------------------------------------------

FIRST_NAMES: Final[tuple[str, ...]] = (
    "Anna",
    "Jonas",
    "Lena",
    "Lukas",
    "Marie",
    "Felix",
    "Sophie",
    "Paul",
    "Laura",
    "Maximilian",
    "Julia",
    "Tobias",
    "Hannah",
    "Florian",
    "Katharina",
    "Sebastian",
    "Sarah",
    "Moritz",
    "Lea",
    "David",
    "Johanna",
    "Simon",
    "Clara",
    "Niklas",
    "Miriam",
    "Stefan",
    "Sabine",
    "Thomas",
    "Claudia",
    "Andreas",
    "Petra",
    "Michael",
    "Nadine",
    "Christian",
    "Franziska",
    "Matthias",
    "Yasemin",
    "Mehmet",
    "Aylin",
    "Ivana",
    "Piotr",
    "Elena",
    "Dmitri",
    "Amira",
    "Karim",
    "Mei",
    "Jan",
    "Frieda",
)

LAST_NAMES: Final[tuple[str, ...]] = (
    "Becker",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Meier",
    "Lehmann",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Yılmaz",
    "Nowak",
    "Kowalski",
    "Petrović",
    "Nguyen",
    "Haddad",
)

# --- topics and proposal vocabulary -------------------------------------------------------------

# (slug, English name, German name): the five thematic clusters of the programme.
CLUSTERS: Final[tuple[tuple[str, str, str], ...]] = (
    ("energy", "Energy technology", "Energietechnik"),
    ("health", "Healthcare", "Gesundheitswirtschaft"),
    ("ict-media", "ICT, media and creative industries", "IKT, Medien und Kreativwirtschaft"),
    ("photonics", "Optics and photonics", "Optik und Photonik"),
    ("mobility", "Transport, mobility and logistics", "Verkehr, Mobilität und Logistik"),
)

# (slug, English name, German name, cluster slug): finer topics that sharpen a proposal's profile.
FINE_TOPICS: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("hydrogen", "Hydrogen and fuel cells", "Wasserstoff und Brennstoffzellen", "energy"),
    ("batteries", "Batteries and energy storage", "Batterien und Energiespeicher", "energy"),
    ("smart-grids", "Smart grids", "Intelligente Stromnetze", "energy"),
    ("medical-imaging", "Medical imaging", "Medizinische Bildgebung", "health"),
    ("digital-health", "Digital health", "Digitale Gesundheit", "health"),
    ("ai", "Artificial intelligence", "Künstliche Intelligenz", "ict-media"),
    (
        "creative-tech",
        "Creative technologies and media",
        "Kreativtechnologien und Medien",
        "ict-media",
    ),
    ("quantum", "Quantum technologies", "Quantentechnologien", "photonics"),
    ("lasers", "Laser technology", "Lasertechnik", "photonics"),
    ("autonomous-driving", "Autonomous driving", "Autonomes Fahren", "mobility"),
    ("logistics", "Logistics and supply chains", "Logistik und Lieferketten", "mobility"),
)

TECHNOLOGIES: Final[dict[str, tuple[str, ...]]] = {
    "energy": (
        "Green hydrogen",
        "Solid-state batteries",
        "Power-to-X processes",
        "Smart grid control",
        "Heat pumps and seasonal storage",
        "Offshore wind electrolysis",
        "Perovskite photovoltaics",
        "Sector coupling",
    ),
    "health": (
        "Personalised immunotherapies",
        "AI-assisted diagnostics",
        "Organ-on-chip models",
        "Wearable biosensors",
        "Regenerative implants",
        "Molecular imaging",
        "Digital care pathways",
        "mRNA platforms",
    ),
    "ict-media": (
        "Trustworthy artificial intelligence",
        "Edge computing",
        "Immersive media",
        "Data spaces",
        "Generative design tools",
        "6G networks",
        "Secure open-source software",
        "Virtual production",
    ),
    "photonics": (
        "Photonic sensors",
        "Ultrashort-pulse lasers",
        "Integrated quantum photonics",
        "Free-form optics",
        "Hyperspectral imaging",
        "Optical metrology",
        "Silicon photonics",
        "Quantum-enhanced imaging",
    ),
    "mobility": (
        "Autonomous shuttles",
        "Electric freight vehicles",
        "Digital rail operations",
        "Urban air mobility",
        "Automated port logistics",
        "Cooperative traffic management",
        "Battery-electric ferries",
        "Predictive fleet maintenance",
    ),
}

APPLICATIONS: Final[dict[str, tuple[str, ...]]] = {
    "energy": (
        "climate-neutral industrial parks",
        "energy-efficient districts",
        "resilient regional grids",
        "the chemical industry",
        "carbon-free steel production",
    ),
    "health": (
        "early cancer detection",
        "care in rural areas",
        "chronic disease management",
        "precision oncology",
        "healthy ageing",
    ),
    "ict-media": (
        "the creative industries",
        "public administration",
        "trustworthy news media",
        "small manufacturers",
        "digital education",
    ),
    "photonics": (
        "resilient smart factories",
        "precision agriculture",
        "semiconductor manufacturing",
        "minimally invasive surgery",
        "environmental monitoring",
    ),
    "mobility": (
        "sustainable city logistics",
        "rural public transport",
        "climate-neutral ports",
        "the last mile",
        "multimodal passenger travel",
    ),
}

# Syllables for acronyms, per cluster, combined with the shared ones.
ACRONYM_STEMS: Final[dict[str, tuple[str, ...]]] = {
    "energy": ("HY", "VOLT", "GRID", "H2", "SOL", "THERM", "ION", "WATT"),
    "health": ("MED", "CARE", "VITA", "CURA", "BIO", "IMMU", "GEN", "SANO"),
    "ict-media": ("DATA", "AI", "KI", "NET", "PIX", "CODE", "MEDIA", "LOGIQ"),
    "photonics": ("PHO", "LUX", "OPT", "LASE", "QU", "SPEC", "LUMI", "TON"),
    "mobility": ("MOB", "VIA", "TRANS", "LOG", "RAIL", "DRIVE", "PORT", "MOVE"),
}

ACRONYM_TAILS: Final[tuple[str, ...]] = (
    "NEX",
    "ON",
    "IQ",
    "RA",
    "TEC",
    "LAB",
    "NOVA",
    "REG",
    "ZEN",
    "FLOW",
    "ARC",
    "X",
    "4F",
    "PLUS",
    "HUB",
    "SYS",
)

TITLE_PATTERNS: Final[tuple[str, ...]] = (
    "{tech} for {application}",
    "{tech} for {application} in {region}",
    "{Adjective} {tech_lower} for {application}",
    "From lab to market: {tech_lower} for {application}",
    "{tech} as a driver of {application} in {region}",
)

TITLE_ADJECTIVES: Final[tuple[str, ...]] = (
    "Scalable",
    "Open",
    "Resilient",
    "Sustainable",
    "Next-generation",
    "Affordable",
    "Regional",
    "Trustworthy",
)

# Sentences for abstracts and narrative sections; placeholders are filled per proposal.
ABSTRACT_SENTENCES: Final[tuple[str, ...]] = (
    "{acronym} brings together {n} partners from {sectors} in {region} to "
    "turn {tech_lower} into products and services for {application}.",
    "The cluster builds on {coordinator} as its coordinating institution and on the industrial "
    "know-how of {companies}.",
    "Over nine years the partners will move from joint research through pilot lines to regional "
    "value chains with international visibility.",
    "Open test beds, shared data and a graduate school make the results available to companies "
    "beyond the consortium.",
    "The cluster addresses a market that is expected to grow strongly over the next decade and "
    "secures skilled jobs in {region}.",
    "Citizens and public bodies take part from the start, so that new solutions are tested where "
    "they will be used.",
)

STRATEGY_SENTENCES: Final[tuple[str, ...]] = (
    "The vision of {acronym} is to make {region} a leading location for {tech_lower}.",
    "Today, research results on {tech_lower} too rarely reach companies working on {application}.",
    "The cluster closes this gap with a shared road map, joint laboratories and a transfer office "
    "run by the coordinator.",
    "In the first phase the partners concentrate on three lighthouse projects with clear "
    "milestones and measurable outcomes.",
    "The second and third phases broaden the cluster to new partners and international "
    "cooperation.",
    "A steering board with members from all partner groups takes decisions on priorities and "
    "funds; an advisory board of external experts reviews progress every year.",
    "Gender balance, early-career researchers and sustainable practices are part of every work "
    "package.",
    "The cluster strategy is aligned with the innovation strategy of {state} and with national "
    "and European programmes.",
)

CONSORTIUM_SENTENCES: Final[tuple[str, ...]] = (
    "The consortium is coordinated by {coordinator}, which contributes long experience in "
    "{tech_lower}.",
    "Its {n} partners are {mix}.",
    "The partners complement each other along the value chain from basic research to production "
    "and use.",
    "Several partners have already worked together in earlier national projects, and new partners "
    "bring fresh perspectives.",
    "Letters of intent from further companies show the interest of the region in the cluster.",
    "Partners: {partners}.",  # last: always part of the consortium section
)

IMPACT_SENTENCES: Final[tuple[str, ...]] = (
    "The cluster expects to create new products for {application} within five years.",
    "Spin-offs and new jobs strengthen {region} as a place to work and to invest.",
    "Results are shared through open publications, training courses and a public test bed.",
    "By the end of the third phase the cluster aims to finance itself through industry "
    "contributions and licence income.",
    "The cluster contributes to climate protection, health and resilient supply chains.",
    "Regular citizen dialogues make the benefits of {tech_lower} visible to the public.",
)

# A juror's expertise: an opening by the kind of organisation they work for, then their record.
# {field} is their main cluster, {topics} their other topics, {tech} a technology of the main
# cluster and {application} one of its applications.
EXPERTISE_OPENINGS: Final[dict[str, tuple[str, ...]]] = {
    "academic": (
        "Research on {topics}; current work on {tech}.",
        "Leads a research group on {tech}; further work on {topics}.",
        "Works on {topics}, with applications in {application}.",
        "Long-standing research in {field}, especially {topics}; current work on {tech}.",
    ),
    "industry": (
        "Heads industrial research on {tech}; background in {topics}.",
        "Responsible for innovation in {field} at a large company, especially {topics}.",
        "Brings {tech} from the laboratory to products for {application}; background in {topics}.",
    ),
}

EXPERTISE_RECORDS: Final[tuple[str, ...]] = (
    "{years} years of industrial collaboration.",
    "{years} years of experience in transfer projects with small and medium-sized enterprises.",
    "Reviewer for national and European research programmes.",
    "Has coordinated several collaborative projects with companies and public partners.",
    "Member of the scientific advisory board of a regional innovation cluster.",
    "Experience in technology transfer and in supporting spin-offs.",
)

EXPERTISE_YEARS: Final[tuple[str, ...]] = ("Eight", "Ten", "Twelve", "Fifteen", "Twenty")

# Reasons a juror gives when declaring a conflict, in German as the demo's jurors write;
# {partner} is a partner of the consortium (never at the end: its name may end with a full stop).
DECLARED_CONFLICT_REASONS: Final[tuple[str, ...]] = (
    "Zwei gemeinsame Veröffentlichungen mit der Koordination im Jahr 2025.",
    "Die Sprecherin der Koordination war bis 2022 meine Doktormutter.",
    "Ich sitze im Beirat von {partner}, einem Partner dieses Verbunds.",
    "Ein enger Angehöriger arbeitet bei {partner} als Projektleiter.",
    "Gemeinsame Patentanmeldung mit der Gruppe der Koordination, eingereicht 2024.",
    "Ich habe {partner} im vergangenen Jahr zur Forschungsstrategie beraten.",
    "{partner} ist in einem anderen Projekt Auftragnehmer meiner Gruppe.",
    "Ein ehemaliger Doktorand von mir leitet ein Arbeitspaket in diesem Verbund.",
    "Ich verhandle derzeit einen Beratungsvertrag mit {partner}.",
    "Bis 2025 gemeinsames Forschungsprojekt mit der Koordination.",
)
