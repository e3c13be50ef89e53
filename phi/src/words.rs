//! The words the detector reacts to: context labels, triggers for names,
//! months, street suffixes, top-level domains. One hash lookup per word,
//! behind a filter that turns most other words away.

use std::sync::OnceLock;

pub const SSN: u64 = 1 << 0;
pub const PHONE: u64 = 1 << 1;
pub const MRN: u64 = 1 << 2;
pub const PLAN: u64 = 1 << 3;
pub const ACCT: u64 = 1 << 4;
pub const DL: u64 = 1 << 5;
pub const ZIP: u64 = 1 << 6;
pub const NPI: u64 = 1 << 7;
pub const DEA: u64 = 1 << 8;
pub const ABA: u64 = 1 << 9;
pub const IBAN: u64 = 1 << 10;
pub const VIN: u64 = 1 << 11;
pub const CARD: u64 = 1 << 12;
pub const DATE: u64 = 1 << 13;
pub const AGE: u64 = 1 << 14;
/// Order, tracking, invoice...: the number that follows is not PHI.
pub const NEG: u64 = 1 << 15;
/// version, build, release: the dotted number that follows is not an IP.
pub const VERSION: u64 = 1 << 16;
/// number, no, id, is, ...: may stand between a label and its value.
pub const FILLER: u64 = 1 << 17;
/// Dr, Mr, Mrs, patient: a name follows.
pub const TITLE: u64 = 1 << 18;
pub const GREET: u64 = 1 << 19;
pub const SIGNOFF: u64 = 1 << 20;
/// son, wife, caregiver: a name follows.
pub const RELATION: u64 = 1 << 21;
/// name, named, called.
pub const NAMEIS: u64 = 1 << 22;
pub const SUFFIX: u64 = 1 << 23;
pub const UNIT: u64 = 1 << 24;
pub const TLD: u64 = 1 << 25;
pub const WEEKDAY: u64 = 1 << 26;
pub const MONTH: u64 = 1 << 27;
/// Function words and common capitalised non-names.
pub const STOP: u64 = 1 << 28;
pub const SCHEME: u64 = 1 << 29;
pub const IP: u64 = 1 << 30;
pub const STATE: u64 = 1 << 31;
/// A common first name.
pub const FIRST: u64 = 1 << 32;
/// "years", "yo", "old": an age unit.
pub const AGEUNIT: u64 = 1 << 33;
/// Direction words inside street names.
pub const DIRECTION: u64 = 1 << 34;
/// "with", "to", "by": after a verb like "spoke", a name follows.
pub const VERBNAME: u64 = 1 << 35;
/// Words that end a label search (a new clause starts).
pub const PO: u64 = 1 << 36;
/// "am", "m", "is": "I am X", "I'm X", "this is X" may follow.
pub const SELFREF: u64 = 1 << 37;

/// The flags on which the walk over the atoms does something for a word
/// itself (dates, URLs, names, P.O. boxes): a word with none of them is
/// only context that other recognisers read.
pub const ACTS: u64 = MONTH
    | SCHEME
    | TLD
    | TITLE
    | GREET
    | SIGNOFF
    | RELATION
    | NAMEIS
    | FIRST
    | VERBNAME
    | UNIT
    | SELFREF;

/// Every label flag that anchors a value.
pub const LABELS: u64 = SSN
    | PHONE
    | MRN
    | PLAN
    | ACCT
    | DL
    | ZIP
    | NPI
    | DEA
    | ABA
    | IBAN
    | VIN
    | CARD
    | DATE
    | AGE
    | IP;

#[derive(Clone, Copy, Default)]
pub struct Word {
    pub flags: u64,
}

const LIST: &[(&str, u64)] = &[
    // SSN
    ("ssn", SSN),
    ("ss", SSN),
    ("ssns", SSN),
    ("social", SSN),
    ("security", SSN),
    ("tin", SSN),
    ("itin", SSN),
    ("taxpayer", SSN),
    // phone
    ("phone", PHONE),
    ("tel", PHONE),
    ("telephone", PHONE),
    ("cell", PHONE),
    ("mobile", PHONE),
    ("call", PHONE),
    ("text", PHONE),
    ("fax", PHONE),
    ("contact", PHONE | VERBNAME),
    ("reach", PHONE),
    ("ph", PHONE),
    ("pager", PHONE),
    ("callback", PHONE),
    ("dial", PHONE),
    // MRN
    ("mrn", MRN),
    ("medical", MRN),
    ("record", MRN),
    ("records", MRN),
    ("chart", MRN),
    ("mr", MRN | TITLE),
    ("emr", MRN),
    ("ehr", MRN),
    ("hospital", MRN | STOP),
    ("encounter", MRN),
    ("accession", MRN),
    ("specimen", MRN),
    // health plan / member
    ("member", PLAN),
    ("membership", PLAN),
    ("subscriber", PLAN),
    ("policy", PLAN),
    ("insurance", PLAN),
    ("insurer", PLAN),
    ("plan", PLAN),
    ("beneficiary", PLAN),
    ("medicaid", PLAN),
    ("hicn", PLAN),
    ("group", PLAN),
    ("coverage", PLAN),
    ("payer", PLAN),
    ("enrollee", PLAN),
    ("hpid", PLAN),
    ("insured", PLAN),
    ("carrier", PLAN),
    // account
    ("account", ACCT),
    ("acct", ACCT),
    ("acc", ACCT),
    ("accounts", ACCT),
    ("checking", ACCT),
    ("savings", ACCT),
    ("bank", ACCT | ABA),
    ("billing", ACCT),
    ("iban", IBAN),
    // licence
    ("license", DL),
    ("licence", DL),
    ("licenses", DL),
    ("driver", DL),
    ("drivers", DL),
    ("dl", DL),
    ("dln", DL),
    ("lic", DL),
    ("permit", DL),
    ("dmv", DL),
    // zip
    ("zip", ZIP),
    ("zipcode", ZIP),
    ("postal", ZIP),
    ("postcode", ZIP),
    // others
    ("npi", NPI),
    ("provider", NPI | TITLE),
    ("prescriber", NPI | TITLE),
    ("dea", DEA),
    ("registration", DEA),
    ("routing", ABA),
    ("aba", ABA),
    ("rtn", ABA),
    ("transit", ABA),
    ("vin", VIN),
    ("vehicle", VIN),
    ("car", VIN),
    ("chassis", VIN),
    ("card", CARD | FILLER),
    ("visa", CARD),
    ("mastercard", CARD),
    ("amex", CARD),
    ("credit", CARD),
    ("debit", CARD),
    ("cc", CARD),
    ("dob", DATE),
    ("birth", DATE),
    ("born", DATE),
    ("birthday", DATE),
    ("date", DATE),
    ("dated", DATE),
    ("admitted", DATE),
    ("discharged", DATE),
    ("admission", DATE),
    ("discharge", DATE),
    ("died", DATE),
    ("death", DATE),
    ("deceased", DATE),
    ("dos", DATE),
    ("visit", DATE),
    ("seen", DATE | VERBNAME),
    ("surgery", DATE),
    ("appointment", DATE),
    ("appt", DATE),
    ("on", DATE | FILLER),
    ("age", AGE),
    ("aged", AGE),
    ("ages", AGE),
    ("years", AGEUNIT),
    ("year", AGEUNIT),
    ("yrs", AGEUNIT),
    ("yr", AGEUNIT),
    ("yo", AGEUNIT),
    ("old", AGEUNIT),
    ("y", AGEUNIT),
    ("ip", IP),
    ("ipv4", IP),
    ("ipv6", IP),
    ("address", IP | FILLER),
    ("host", IP),
    ("server", IP),
    ("from", FILLER | PO),
    // negatives
    ("order", NEG),
    ("orders", NEG),
    ("ord", NEG),
    ("tracking", NEG),
    ("track", NEG),
    ("shipment", NEG),
    ("package", NEG),
    ("invoice", NEG),
    ("inv", NEG),
    ("receipt", NEG),
    ("ref", NEG),
    ("reference", NEG),
    ("confirmation", NEG),
    ("conf", NEG),
    ("ticket", NEG),
    ("case", NEG),
    ("sku", NEG),
    ("item", NEG),
    ("model", NEG),
    ("part", NEG),
    ("po", NEG | PO),
    ("transaction", NEG),
    ("txn", NEG),
    ("booking", NEG),
    ("reservation", NEG),
    ("flight", NEG),
    ("room", NEG),
    ("page", NEG),
    ("batch", NEG),
    ("lot", NEG),
    ("cpt", NEG),
    ("icd", NEG),
    ("hcpcs", NEG),
    ("ndc", NEG),
    ("code", NEG | FILLER),
    ("codes", NEG),
    ("serial", NEG),
    ("ups", NEG),
    ("usps", NEG),
    ("fedex", NEG),
    ("dhl", NEG),
    ("request", NEG),
    ("req", NEG),
    ("claim", NEG),
    ("rx", NEG),
    ("coupon", NEG),
    ("promo", NEG),
    ("price", NEG),
    ("total", NEG),
    ("qty", NEG),
    ("quantity", NEG),
    ("dose", NEG),
    ("mg", NEG),
    ("ml", NEG),
    ("mcg", NEG),
    ("units", NEG),
    ("isbn", NEG),
    ("pin", NEG),
    ("otp", NEG),
    ("extension", NEG),
    ("step", NEG),
    ("version", VERSION | NEG),
    ("ver", VERSION | NEG),
    ("v", VERSION),
    ("build", VERSION | NEG),
    ("release", VERSION | NEG),
    ("firmware", VERSION | NEG),
    ("update", VERSION),
    ("upgrade", VERSION),
    ("patch", VERSION),
    ("kernel", VERSION),
    ("app", VERSION),
    ("os", VERSION),
    ("ios", VERSION),
    ("android", VERSION),
    ("python", VERSION),
    ("chrome", VERSION),
    ("sdk", VERSION),
    ("api", VERSION),
    // fillers
    ("number", FILLER),
    ("numbers", FILLER),
    ("num", FILLER),
    ("no", FILLER),
    ("nr", FILLER),
    ("nbr", FILLER),
    ("id", FILLER),
    ("ids", FILLER),
    ("identifier", FILLER),
    ("identification", FILLER),
    ("is", FILLER),
    ("was", FILLER),
    ("are", FILLER),
    ("of", FILLER),
    ("the", FILLER | STOP),
    ("my", FILLER | STOP),
    ("his", FILLER | STOP),
    ("her", FILLER | STOP),
    ("their", FILLER | STOP),
    ("our", FILLER | STOP),
    ("your", FILLER | STOP),
    ("file", FILLER),
    ("ending", FILLER),
    ("in", FILLER | STOP),
    ("with", FILLER | STOP | VERBNAME),
    ("s", FILLER),
    ("a", FILLER | STOP),
    ("at", FILLER | STOP),
    ("new", FILLER),
    ("primary", FILLER),
    ("state", FILLER),
    ("us", FILLER),
    ("home", FILLER | PHONE),
    ("work", FILLER | PHONE),
    ("office", FILLER | PHONE),
    ("direct", FILLER | PHONE),
    ("line", FILLER),
    ("it", FILLER | STOP),
    ("please", STOP),
    ("use", FILLER),
    ("listed", FILLER),
    ("as", FILLER | STOP),
    ("be", FILLER),
    ("should", FILLER),
    ("updated", FILLER),
    ("to", FILLER | STOP | VERBNAME),
    ("under", FILLER),
    ("medicare", PLAN),
    ("mbi", PLAN),
    ("health", PLAN),
    ("hmo", PLAN),
    ("ppo", PLAN),
    ("issued", FILLER),
    ("expires", FILLER),
    // names
    ("dr", TITLE | SUFFIX),
    ("doctor", TITLE),
    ("mrs", TITLE),
    ("ms", TITLE),
    ("miss", TITLE),
    ("mx", TITLE),
    ("prof", TITLE),
    ("professor", TITLE),
    ("nurse", TITLE),
    ("patient", TITLE | MRN),
    ("pt", TITLE | MRN),
    ("physician", TITLE),
    ("rn", TITLE),
    ("np", TITLE),
    ("pa", TITLE),
    ("md", STOP),
    ("surgeon", TITLE),
    ("therapist", TITLE),
    ("client", TITLE),
    ("resident", TITLE),
    ("mister", TITLE),
    ("sir", STOP),
    ("madam", STOP),
    ("name", NAMEIS),
    ("named", NAMEIS),
    ("names", NAMEIS),
    ("hi", GREET),
    ("hello", GREET),
    ("hey", GREET),
    ("dear", GREET),
    ("greetings", GREET),
    ("morning", GREET),
    ("afternoon", GREET),
    ("evening", GREET),
    ("thanks", SIGNOFF),
    ("thank", SIGNOFF),
    ("regards", SIGNOFF),
    ("sincerely", SIGNOFF),
    ("best", SIGNOFF),
    ("cheers", SIGNOFF),
    ("cordially", SIGNOFF),
    ("respectfully", SIGNOFF),
    ("yours", SIGNOFF),
    ("love", SIGNOFF),
    ("warmly", SIGNOFF),
    ("signed", SIGNOFF),
    ("son", RELATION),
    ("daughter", RELATION),
    ("wife", RELATION),
    ("husband", RELATION),
    ("mother", RELATION),
    ("father", RELATION),
    ("mom", RELATION),
    ("dad", RELATION),
    ("brother", RELATION),
    ("sister", RELATION),
    ("caregiver", RELATION),
    ("spouse", RELATION),
    ("guardian", RELATION),
    ("friend", RELATION),
    ("partner", RELATION),
    ("grandson", RELATION),
    ("granddaughter", RELATION),
    ("grandmother", RELATION),
    ("grandfather", RELATION),
    ("aunt", RELATION),
    ("uncle", RELATION),
    ("niece", RELATION),
    ("nephew", RELATION),
    ("neighbor", RELATION),
    ("colleague", RELATION),
    ("coworker", RELATION),
    ("mr.", TITLE),
    ("by", VERBNAME | STOP),
    ("for", VERBNAME | STOP),
    ("spoke", STOP),
    ("talked", STOP),
    ("ask", STOP),
    ("asked", STOP),
    ("cc'd", STOP),
    ("am", STOP | SELFREF),
    ("m", STOP | SELFREF),
    ("this", STOP),
    ("i", STOP),
    ("he", STOP),
    ("she", STOP),
    ("we", STOP),
    ("they", STOP),
    ("you", STOP),
    ("and", STOP),
    ("or", STOP),
    ("but", STOP),
    ("not", STOP),
    ("team", STOP),
    ("all", STOP),
    ("everyone", STOP),
    ("there", STOP),
    ("again", STOP),
    ("so", STOP),
    ("much", STOP),
    ("support", STOP),
    ("staff", STOP),
    ("clinic", STOP),
    ("center", STOP | SUFFIX),
    ("portal", STOP),
    ("care", STOP),
    ("pharmacy", STOP),
    ("customer", STOP),
    ("service", STOP),
    ("services", STOP),
    ("billing", STOP),
    ("department", STOP),
    ("dept", STOP),
    ("unknown", STOP),
    ("none", STOP),
    ("n", STOP),
    ("also", STOP),
    ("just", STOP),
    ("here", STOP),
    ("today", STOP),
    ("tomorrow", STOP),
    ("yesterday", STOP),
    ("if", STOP),
    ("when", STOP),
    ("what", STOP),
    ("how", STOP),
    ("why", STOP),
    ("who", STOP),
    ("that", STOP),
    ("these", STOP),
    ("those", STOP),
    ("an", STOP),
    ("some", STOP),
    ("any", STOP),
    ("no.", STOP),
    ("yes", STOP),
    ("ok", STOP),
    ("okay", STOP),
    ("good", STOP),
    ("great", STOP),
    ("nice", STOP),
    ("sorry", STOP),
    ("guys", STOP),
    ("folks", STOP),
    ("doc", STOP),
    ("again", STOP),
    ("again.", STOP),
    ("will", STOP),
    ("can", STOP),
    ("could", STOP),
    ("would", STOP),
    ("has", STOP),
    ("have", STOP),
    ("had", STOP),
    ("did", STOP),
    ("does", STOP),
    ("do", STOP),
    ("need", STOP),
    ("needs", STOP),
    ("wants", STOP),
    ("want", STOP),
    ("got", STOP),
    ("get", STOP),
    ("said", STOP),
    ("says", STOP),
    ("called", STOP | PHONE),
    ("reports", STOP),
    ("reported", STOP),
    ("presents", STOP),
    ("presented", STOP),
    ("denies", STOP),
    ("complains", STOP),
    ("states", STOP),
    ("stated", STOP),
    ("is", FILLER | STOP | SELFREF),
    ("info", STOP | TLD),
    ("information", STOP),
    ("intake", STOP),
    ("details", STOP),
    ("note", STOP),
    ("notes", STOP),
    ("summary", STOP),
    ("history", STOP),
    ("refill", STOP),
    ("lab", STOP),
    ("results", STOP),
    ("emergency", STOP),
    ("urgent", STOP),
    ("room", NEG | STOP),
    ("er", STOP),
    ("icu", STOP),
    ("covid", STOP),
    ("street", SUFFIX),
    ("st", SUFFIX),
    ("avenue", SUFFIX),
    ("ave", SUFFIX),
    ("av", SUFFIX),
    ("road", SUFFIX),
    ("rd", SUFFIX),
    ("boulevard", SUFFIX),
    ("blvd", SUFFIX),
    ("lane", SUFFIX),
    ("ln", SUFFIX),
    ("drive", SUFFIX),
    ("court", SUFFIX),
    ("ct", SUFFIX),
    ("way", SUFFIX),
    ("place", SUFFIX),
    ("pl", SUFFIX),
    ("circle", SUFFIX),
    ("cir", SUFFIX),
    ("parkway", SUFFIX),
    ("pkwy", SUFFIX),
    ("highway", SUFFIX),
    ("hwy", SUFFIX),
    ("terrace", SUFFIX),
    ("ter", SUFFIX),
    ("trail", SUFFIX),
    ("trl", SUFFIX),
    ("square", SUFFIX),
    ("sq", SUFFIX),
    ("alley", SUFFIX),
    ("aly", SUFFIX),
    ("bypass", SUFFIX),
    ("causeway", SUFFIX),
    ("crossing", SUFFIX),
    ("xing", SUFFIX),
    ("expressway", SUFFIX),
    ("expy", SUFFIX),
    ("freeway", SUFFIX),
    ("fwy", SUFFIX),
    ("pike", SUFFIX),
    ("plaza", SUFFIX),
    ("plz", SUFFIX),
    ("row", SUFFIX),
    ("run", SUFFIX),
    ("turnpike", SUFFIX),
    ("tpke", SUFFIX),
    ("walk", SUFFIX),
    ("loop", SUFFIX),
    ("path", SUFFIX),
    ("point", SUFFIX),
    ("pt.", SUFFIX),
    ("ridge", SUFFIX),
    ("rdg", SUFFIX),
    ("hill", SUFFIX),
    ("hills", SUFFIX),
    ("park", SUFFIX),
    ("pass", SUFFIX),
    ("mall", SUFFIX),
    ("mews", SUFFIX),
    ("crescent", SUFFIX),
    ("cres", SUFFIX),
    ("close", SUFFIX),
    ("grove", SUFFIX),
    ("gardens", SUFFIX),
    ("glen", SUFFIX),
    ("green", SUFFIX),
    ("heights", SUFFIX),
    ("hts", SUFFIX),
    ("view", SUFFIX),
    ("vista", SUFFIX),
    ("village", SUFFIX),
    ("vlg", SUFFIX),
    ("ville", SUFFIX),
    ("well", SUFFIX),
    ("wells", SUFFIX),
    ("brook", SUFFIX),
    ("brooks", SUFFIX),
    ("branch", SUFFIX),
    ("bridge", SUFFIX),
    ("burg", SUFFIX),
    ("burgs", SUFFIX),
    ("camp", SUFFIX),
    ("canyon", SUFFIX),
    ("cape", SUFFIX),
    ("centers", SUFFIX),
    ("circles", SUFFIX),
    ("cliff", SUFFIX),
    ("cliffs", SUFFIX),
    ("club", SUFFIX),
    ("common", SUFFIX),
    ("commons", SUFFIX),
    ("corner", SUFFIX),
    ("corners", SUFFIX),
    ("course", SUFFIX),
    ("courts", SUFFIX),
    ("cove", SUFFIX),
    ("coves", SUFFIX),
    ("creek", SUFFIX),
    ("crest", SUFFIX),
    ("curve", SUFFIX),
    ("dale", SUFFIX),
    ("dam", SUFFIX),
    ("divide", SUFFIX),
    ("drives", SUFFIX),
    ("estate", SUFFIX),
    ("estates", SUFFIX),
    ("extension", SUFFIX | NEG),
    ("extensions", SUFFIX),
    ("fall", SUFFIX),
    ("falls", SUFFIX),
    ("ferry", SUFFIX),
    ("field", SUFFIX),
    ("fields", SUFFIX),
    ("flat", SUFFIX),
    ("flats", SUFFIX),
    ("ford", SUFFIX),
    ("fords", SUFFIX),
    ("forest", SUFFIX),
    ("forge", SUFFIX),
    ("forges", SUFFIX),
    ("fork", SUFFIX),
    ("forks", SUFFIX),
    ("fort", SUFFIX),
    ("garden", SUFFIX),
    ("gateway", SUFFIX),
    ("glens", SUFFIX),
    ("greens", SUFFIX),
    ("groves", SUFFIX),
    ("harbor", SUFFIX),
    ("harbors", SUFFIX),
    ("haven", SUFFIX),
    ("hollow", SUFFIX),
    ("inlet", SUFFIX),
    ("island", SUFFIX),
    ("islands", SUFFIX),
    ("isle", SUFFIX),
    ("junction", SUFFIX),
    ("junctions", SUFFIX),
    ("key", SUFFIX),
    ("keys", SUFFIX),
    ("knoll", SUFFIX),
    ("knolls", SUFFIX),
    ("lake", SUFFIX),
    ("lakes", SUFFIX),
    ("land", SUFFIX),
    ("landing", SUFFIX),
    ("light", SUFFIX),
    ("lights", SUFFIX),
    ("loaf", SUFFIX),
    ("lock", SUFFIX),
    ("locks", SUFFIX),
    ("lodge", SUFFIX),
    ("manor", SUFFIX),
    ("manors", SUFFIX),
    ("meadow", SUFFIX),
    ("meadows", SUFFIX),
    ("mill", SUFFIX),
    ("mills", SUFFIX),
    ("mission", SUFFIX),
    ("motorway", SUFFIX),
    ("mount", SUFFIX),
    ("mountain", SUFFIX),
    ("mountains", SUFFIX),
    ("neck", SUFFIX),
    ("orchard", SUFFIX),
    ("oval", SUFFIX),
    ("overpass", SUFFIX),
    ("parks", SUFFIX),
    ("parkways", SUFFIX),
    ("passage", SUFFIX),
    ("pine", SUFFIX),
    ("pines", SUFFIX),
    ("plain", SUFFIX),
    ("plains", SUFFIX),
    ("points", SUFFIX),
    ("port", SUFFIX),
    ("ports", SUFFIX),
    ("prairie", SUFFIX),
    ("radial", SUFFIX),
    ("ramp", SUFFIX),
    ("ranch", SUFFIX),
    ("rapid", SUFFIX),
    ("rapids", SUFFIX),
    ("rest", SUFFIX),
    ("ridges", SUFFIX),
    ("river", SUFFIX),
    ("roads", SUFFIX),
    ("route", SUFFIX),
    ("shoal", SUFFIX),
    ("shoals", SUFFIX),
    ("shore", SUFFIX),
    ("shores", SUFFIX),
    ("skyway", SUFFIX),
    ("spring", SUFFIX),
    ("springs", SUFFIX),
    ("spur", SUFFIX),
    ("spurs", SUFFIX),
    ("squares", SUFFIX),
    ("station", SUFFIX),
    ("stravenue", SUFFIX),
    ("stream", SUFFIX),
    ("streets", SUFFIX),
    ("summit", SUFFIX),
    ("throughway", SUFFIX),
    ("trace", SUFFIX),
    ("track", SUFFIX | NEG),
    ("trafficway", SUFFIX),
    ("tunnel", SUFFIX),
    ("underpass", SUFFIX),
    ("union", SUFFIX),
    ("unions", SUFFIX),
    ("valley", SUFFIX),
    ("valleys", SUFFIX),
    ("via", SUFFIX),
    ("viaduct", SUFFIX),
    ("views", SUFFIX),
    ("villages", SUFFIX),
    ("villes", SUFFIX),
    ("ways", SUFFIX),
    ("bluff", SUFFIX),
    ("bluffs", SUFFIX),
    ("bottom", SUFFIX),
    ("bend", SUFFIX),
    ("crossroad", SUFFIX),
    ("crossroads", SUFFIX),
    ("rue", SUFFIX),
    ("walks", SUFFIX),
    ("wall", SUFFIX),
    ("beach", SUFFIX),
    ("arcade", SUFFIX),
    ("anex", SUFFIX),
    ("annex", SUFFIX),
    ("burgs", SUFFIX),
    ("shoal", SUFFIX),
    ("apt", UNIT),
    ("apartment", UNIT),
    ("suite", UNIT),
    ("ste", UNIT),
    ("unit", UNIT),
    ("floor", UNIT),
    ("fl", UNIT),
    ("bldg", UNIT),
    ("building", UNIT),
    ("rm", UNIT),
    ("box", UNIT),
    ("north", DIRECTION),
    ("south", DIRECTION),
    ("east", DIRECTION),
    ("west", DIRECTION),
    ("ne", DIRECTION),
    ("nw", DIRECTION),
    ("se", DIRECTION),
    ("sw", DIRECTION),
    ("e", DIRECTION),
    ("w", DIRECTION),
    ("com", TLD),
    ("org", TLD),
    ("net", TLD),
    ("edu", TLD),
    ("gov", TLD),
    ("io", TLD),
    ("co", TLD),
    ("biz", TLD),
    ("mil", TLD),
    ("health", PLAN | TLD),
    ("care", STOP | TLD),
    ("uk", TLD),
    ("ca", TLD),
    ("de", TLD),
    ("fr", TLD),
    ("dev", TLD),
    ("me", TLD | STOP),
    ("http", SCHEME),
    ("https", SCHEME),
    ("ftp", SCHEME),
    ("www", SCHEME),
    ("monday", WEEKDAY),
    ("tuesday", WEEKDAY),
    ("wednesday", WEEKDAY),
    ("thursday", WEEKDAY),
    ("friday", WEEKDAY),
    ("saturday", WEEKDAY),
    ("sunday", WEEKDAY),
    ("mon", WEEKDAY),
    ("tue", WEEKDAY),
    ("tues", WEEKDAY),
    ("wed", WEEKDAY),
    ("thu", WEEKDAY),
    ("thur", WEEKDAY),
    ("thurs", WEEKDAY),
    ("fri", WEEKDAY),
    ("sat", WEEKDAY),
    ("sun", WEEKDAY),
    ("alabama", STATE),
    ("alaska", STATE),
    ("arizona", STATE),
    ("arkansas", STATE),
    ("california", STATE),
    ("colorado", STATE),
    ("connecticut", STATE),
    ("delaware", STATE),
    ("florida", STATE),
    ("georgia", STATE),
    ("hawaii", STATE),
    ("idaho", STATE),
    ("illinois", STATE),
    ("indiana", STATE),
    ("iowa", STATE),
    ("kansas", STATE),
    ("kentucky", STATE),
    ("louisiana", STATE),
    ("maine", STATE),
    ("maryland", STATE),
    ("massachusetts", STATE),
    ("michigan", STATE),
    ("minnesota", STATE),
    ("mississippi", STATE),
    ("missouri", STATE),
    ("montana", STATE),
    ("nebraska", STATE),
    ("nevada", STATE),
    ("hampshire", STATE),
    ("jersey", STATE),
    ("mexico", STATE),
    ("york", STATE),
    ("carolina", STATE),
    ("dakota", STATE),
    ("ohio", STATE),
    ("oklahoma", STATE),
    ("oregon", STATE),
    ("pennsylvania", STATE),
    ("island", STATE | SUFFIX),
    ("tennessee", STATE),
    ("texas", STATE),
    ("utah", STATE),
    ("vermont", STATE),
    ("virginia", STATE),
    ("washington", STATE),
    ("wisconsin", STATE),
    ("wyoming", STATE),
];

const MONTHS: &[(&str, u8)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

/// Common US first names: two capitalised words starting with one of these
/// are a name even without a trigger word.
const FIRST_NAMES: &str = "james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony \
mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary nicholas eric \
jonathan stephen larry justin scott brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry tyler aaron \
jose adam nathan henry douglas zachary peter kyle ethan walter noah jeremy christian keith roger terry gerald harold sean austin carl \
arthur lawrence dylan jesse jordan bryan billy joe bruce gabriel logan albert willie alan juan wayne elijah randy roy vincent ralph \
eugene russell bobby mason philip louis mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty \
margaret sandra ashley kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura cynthia \
kathleen amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine debra rachel carolyn janet catherine \
maria heather diane ruth julie olivia joyce virginia victoria kelly lauren christina joan evelyn judith megan andrea cheryl hannah \
jacqueline martha gloria teresa ann sara madison frances kathryn janice jean abigail alice judy sophia grace denise amber doris \
marilyn danielle beverly isabella theresa diana natalie brittany charlotte marie kayla alexis lori ava mia chloe ella lily zoe \
harper evelyn aria scarlett luna layla penelope riley nora hazel ellie violet aurora savannah audrey brooklyn bella claire skylar \
lucy paisley everly caroline nova genesis emilia kennedy maya willow kinsley naomi aaliyah elena ariana allison gabriella alexa \
sadie hailey eva liam oliver lucas mateo levi sebastian jayden luke grayson julian leo isaac lincoln jaxon asher theodore caleb \
josiah ezra hudson maverick carter owen wyatt miles elias colton luca ian cameron evan rosa carlos luis miguel jorge pedro ana \
carmen juanita guadalupe francisco antonio manuel alejandro ricardo fernando javier diego raul roberto eduardo sergio andres \
wei li ming priya raj amit anil sunil deepak rahul anjali pooja neha mohammed muhammad ahmed ali fatima omar hassan yusuf aisha \
tanya tina tracy wendy yolanda yvonne vanessa valerie tammy stacy sheila rhonda regina paula monica melanie leslie kristen kim \
june april may jan dawn erin erica gina holly jill joanne kathy kristin krista leah lynn marcia misty nina peggy renee robin \
rose ruby shannon sherry stacey stella sue sylvia terri tiffany toni vicki vivian wanda beth bonnie brittney cassandra connie \
courtney crystal darlene dana dianne edna eileen elaine ellen esther ethel felicia florence geraldine gladys glenda hilda ida \
irene jamie janie jo johnny josephine joy kara katie lillian lois loretta lorraine lucille mabel marion marjorie marlene maureen \
mildred miriam nellie norma pauline pearl phyllis rita roberta rosemary sally shelby sonia sophie tara thelma vera viola \
allen alvin andre barry bernard bill bob brad bradley calvin chad clarence clifford clinton cody corey craig curtis dale dan \
danny darrell darren derek don duane dustin earl eddie edwin ernest floyd francis fred frederick gene glenn gordon greg harry \
harvey herbert howard jay jeff jeffery jim jimmy joel johnnie jon leonard leroy lewis lloyd lonnie marcus mario martin marvin \
max melvin micheal mike nathaniel neil norman oscar phillip rick ricky rodney ron ronnie ross ruben sam shane shawn stanley \
steve ted tim todd tom tommy tony travis troy victor vernon wade warren wesley alfredo angel armando arturo cesar enrique hector \
ivan jesus julio marco oscar pablo rafael ramon salvador tomas";

/// The word lower-cased and packed into 16 bytes (callers pass 1-16 ASCII letters).
#[inline]
fn key(word: &[u8]) -> u128 {
    // ASCII letters: setting bit 5 lower-cases; padding stays zero.
    let mut raw = [0u8; 16];
    let n = word.len().min(16);
    raw[..n].copy_from_slice(&word[..n]);
    let mask = if n >= 16 {
        u128::MAX
    } else {
        (1u128 << (n * 8)) - 1
    };
    (u128::from_le_bytes(raw) | 0x2020_2020_2020_2020_2020_2020_2020_2020) & mask
}

#[inline]
fn hash(k: u128) -> u64 {
    ((k as u64) ^ ((k >> 64) as u64).rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

const BITS: u32 = 12;
const SIZE: usize = 1 << BITS;
/// Bits of the filter: about 1,000 words set at most that many of them,
/// so an unknown word passes it about once in sixteen.
const FILTER_BITS: u32 = 14;

/// An open-addressing table of the packed words (no hashing library, one
/// multiplication per lookup), and in front of it a one-hash Bloom filter
/// that fits in L1: most words of prose are not in the table, and the
/// filter turns them away without touching the table.
pub struct Table {
    keys: Vec<u128>,
    vals: Vec<u64>,
    filter: Vec<u64>,
}

#[inline]
fn slot(h: u64) -> usize {
    (h >> (64 - BITS)) as usize
}

#[inline]
fn filter_bit(h: u64) -> usize {
    ((h >> (64 - BITS - FILTER_BITS)) as usize) & ((1 << FILTER_BITS) - 1)
}

pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Table {
            keys: vec![0; SIZE],
            vals: vec![0; SIZE],
            filter: vec![0; 1 << (FILTER_BITS - 6)],
        };
        let mut add = |w: &str, flags: u64| {
            let w = w.as_bytes();
            if w.is_empty() || w.len() > 16 || !w.iter().all(u8::is_ascii_alphabetic) {
                return;
            }
            let k = key(w);
            let h = hash(k);
            let mut i = slot(h);
            while t.keys[i] != 0 && t.keys[i] != k {
                i = (i + 1) & (SIZE - 1);
            }
            t.keys[i] = k;
            t.vals[i] |= flags;
            let f = filter_bit(h);
            t.filter[f >> 6] |= 1 << (f & 63);
        };
        for &(w, f) in LIST {
            add(w, f);
        }
        for &(w, _) in MONTHS {
            add(w, MONTH);
        }
        for w in FIRST_NAMES.split_ascii_whitespace() {
            add(w, FIRST);
        }
        t
    })
}

/// The flags of an ASCII word (any case); unknown words have none.
#[inline]
pub fn lookup(word: &[u8]) -> Word {
    if !word.iter().all(u8::is_ascii_alphabetic) {
        return Word::default();
    }
    lookup_at(word, 0, word.len())
}

/// [`lookup`] of `text[s..e]`, which the caller knows to be ASCII letters
/// only: the key is two 8-byte loads (from the last 16 bytes of the text,
/// shifted, near its end) and masks; no copy of a variable length.
#[inline]
pub fn lookup_at(text: &[u8], s: usize, e: usize) -> Word {
    lookup_in(table(), text, s, e)
}

/// The masks that keep the first `n` bytes of a 16-byte key, per `n`.
const KEY_MASKS: [(u64, u64); 17] = {
    let mut m = [(0u64, 0u64); 17];
    let mut n = 1;
    while n <= 16 {
        m[n] = if n <= 8 {
            (u64::MAX >> (64 - 8 * n), 0)
        } else {
            (u64::MAX, u64::MAX >> (64 - 8 * (n - 8)))
        };
        n += 1;
    }
    m
};

/// [`lookup_at`] in table `t` (the tokenizer fetches it once per text).
#[inline(always)]
pub fn lookup_in(t: &Table, text: &[u8], s: usize, e: usize) -> Word {
    let n = e.wrapping_sub(s);
    if n.wrapping_sub(1) >= 16 || e > text.len() {
        return Word::default();
    }
    let len = text.len();
    const LOWER: u64 = 0x2020_2020_2020_2020;
    if n <= 8
        && let Some(c) = text.get(s..).and_then(<[u8]>::first_chunk::<8>)
    {
        // Most words: one 8-byte load, no shift.
        let lo = (u64::from_le_bytes(*c) | LOWER) & KEY_MASKS[n].0;
        return probe(t, u128::from(lo));
    }
    if len < 16 {
        return lookup_short(t, &text[s..e]);
    }
    // 16 bytes from `from`, the word `shift` bytes in.
    let from = s.min(len - 16);
    let shift = s - from;
    let mut raw = [0u8; 16];
    raw.copy_from_slice(&text[from..from + 16]);
    let mut k = u128::from_le_bytes(raw);
    if shift > 0 {
        // Only near the end of the text (shift < 16).
        k >>= shift * 8;
    }
    let (lo, hi) = (k as u64, (k >> 64) as u64);
    let (lo_mask, hi_mask) = KEY_MASKS[n];
    let k = u128::from((lo | LOWER) & lo_mask) | u128::from((hi | LOWER) & hi_mask) << 64;
    probe(t, k)
}

/// [`lookup_in`] in a text shorter than 16 bytes.
#[cold]
fn lookup_short(t: &Table, word: &[u8]) -> Word {
    probe(t, key(word))
}

#[inline(always)]
fn probe(t: &Table, k: u128) -> Word {
    let h = hash(k);
    let f = filter_bit(h);
    if t.filter[f >> 6] & (1 << (f & 63)) == 0 {
        return Word::default();
    }
    let mut i = slot(h);
    loop {
        let found = t.keys[i];
        if found == k {
            return Word { flags: t.vals[i] };
        }
        if found == 0 {
            return Word::default();
        }
        i = (i + 1) & (SIZE - 1);
    }
}

/// Forces the table to be built (so the first request does not pay for it).
pub fn warm() {
    let _ = table();
}

/// Two-letter USPS state codes (uppercase).
pub fn is_state_code(w: &[u8]) -> bool {
    const CODES: &[&[u8; 2]] = &[
        b"AL", b"AK", b"AZ", b"AR", b"CA", b"CO", b"CT", b"DE", b"FL", b"GA", b"HI", b"ID", b"IL",
        b"IN", b"IA", b"KS", b"KY", b"LA", b"ME", b"MD", b"MA", b"MI", b"MN", b"MS", b"MO", b"MT",
        b"NE", b"NV", b"NH", b"NJ", b"NM", b"NY", b"NC", b"ND", b"OH", b"OK", b"OR", b"PA", b"RI",
        b"SC", b"SD", b"TN", b"TX", b"UT", b"VT", b"VA", b"WA", b"WV", b"WI", b"WY", b"DC", b"PR",
        b"VI", b"GU", b"AS", b"MP", b"AA", b"AE", b"AP",
    ];
    w.len() == 2 && CODES.iter().any(|c| &c[..] == w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table as a plain map: what every lookup must agree with.
    fn expected(word: &str) -> u64 {
        let w = word.to_ascii_lowercase();
        let mut f = 0;
        for &(x, flags) in LIST {
            if x == w {
                f |= flags;
            }
        }
        if MONTHS.iter().any(|&(x, _)| x == w) {
            f |= MONTH;
        }
        if FIRST_NAMES.split_ascii_whitespace().any(|x| x == w) {
            f |= FIRST;
        }
        f
    }

    #[test]
    fn lookup_at_every_offset_and_length() {
        let words = [
            "Dr",
            "dear",
            "MRN",
            "January",
            "sept",
            "thanks",
            "john",
            "q",
            "a",
            "patient",
            "identification",
            "zzzzzzzzzzzzzzzz",
            "Respectfully",
            "unknownword",
            "routing",
            "xy",
            "the",
            "Mastercard",
            "medicaid",
        ];
        for w in words {
            assert_eq!(lookup(w.as_bytes()).flags, expected(w), "{w}");
            for pre in 0..20 {
                for post in 0..20 {
                    let text = format!("{}{w}{}", "-".repeat(pre), ".".repeat(post));
                    let got = lookup_at(text.as_bytes(), pre, pre + w.len()).flags;
                    assert_eq!(got, expected(w), "{text:?}");
                }
            }
        }
        for w in ["am", "M", "Is"] {
            assert_ne!(lookup(w.as_bytes()).flags & SELFREF, 0, "{w}");
        }
        assert_eq!(lookup(b"the").flags & ACTS, 0);
        assert_eq!(lookup(b"seventeenletterss").flags, 0);
        assert_eq!(lookup(b"").flags, 0);
        assert_eq!(lookup(b"dr.").flags, 0);
    }
}
