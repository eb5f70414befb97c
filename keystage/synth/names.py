"""Word lists for the synthetic world: pupil names, school names and postcode areas.

Lists are ordered roughly from common to rare; the generator weights them by rank. Every name is
made up from common words and names; no real school or pupil is described.
"""

from __future__ import annotations

# fmt: off

# Name groups; each ethnicity code draws its names from one group (see ETHNICITY_NAME_GROUP).
NAME_GROUPS: tuple[str, ...] = (
    "english",
    "european",
    "south_asian",
    "african",
    "chinese",
    "middle_eastern",
)

ETHNICITY_NAME_GROUP: dict[str, str] = {
    "WBRI": "english",
    "WIRI": "english",
    "WIRT": "english",
    "WOTH": "european",
    "WROM": "european",
    "MWBC": "english",
    "MWBA": "english",
    "MWAS": "english",
    "MOTH": "english",
    "AIND": "south_asian",
    "APKN": "south_asian",
    "ABAN": "south_asian",
    "AOTH": "south_asian",
    "BCRB": "english",
    "BAFR": "african",
    "BOTH": "african",
    "CHNE": "chinese",
    "OOTH": "middle_eastern",
    "REFU": "middle_eastern",
    "NOBT": "english",
}

SURNAMES: dict[str, tuple[str, ...]] = {
    "english": (
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
        "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
        "Hall", "Wood", "Jackson", "Clarke", "Patel", "Harris", "Lewis", "Hughes", "Edwards",
        "Turner", "Hill", "Moore", "Martin", "Cooper", "Ward", "Clark", "Morris", "King",
        "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson",
        "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly",
        "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy",
        "Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis",
        "Adams", "Singh", "Begum", "Wilkinson", "Foster", "Chapman", "Powell", "Webb",
        "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell", "Matthews", "Owen",
        "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell",
        "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Graham",
        "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews",
        "Stewart", "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day",
        "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill",
        "Dawson", "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry", "Ryan",
        "Grant", "Wells", "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson",
        "Newman", "Barrett", "Webster", "Hunter", "Gregory", "Carr", "Lowe", "Page",
        "Marsh", "Riley", "Dunn", "Woods", "Parsons", "Berry", "Stone", "Reid", "Holland",
        "Hawkins", "Harding", "Porter", "Robertson", "Newton", "Oliver", "Reed", "Kennedy",
        "Williamson", "Bird", "Gardner", "Shah", "Dean", "Lane", "Cooke", "Bates", "Henderson",
        "Parry", "Burgess", "Bishop", "Walton", "Burns", "Nicholson", "Shepherd", "Ross",
        "Cross", "Long", "Freeman", "Warren", "Nicholls", "Hamilton", "Byrne", "Sutton",
        "McDonald", "Yates", "Hodgson", "Robson", "Curtis", "Hopkins", "O'Connor", "Harper",
        "Coleman", "Watkins", "Moss", "McCarthy", "Chambers", "O'Neill", "Griffin", "Sharp",
        "Hardy", "Wheeler", "Potter", "Osborne", "Johnston", "Gordon", "Doyle", "Wallace",
        "George", "Jordan", "Hutchinson", "Rowe", "Burke", "May", "Pritchard", "Gilbert",
        "Willis", "Higgins", "Read", "Miles", "Stevenson", "Stephenson", "Hammond",
        "Arnold", "Buckley", "Walters", "Hewitt", "Barber", "Nelson", "Slater", "Austin",
        "Sullivan", "Whitehead", "Mann", "Frost", "Lambert", "Stephens", "Blake", "Akhtar",
        "Lynch", "Goodwin", "Barton", "Woodward", "Thomson", "Cunningham", "Quinn", "Barnett",
        "Baxter", "Bibi", "Clayton", "Nash", "Greenwood", "Jennings", "Holt", "Kemp", "Poole",
        "Gallagher", "Bond", "Stokes", "Tucker", "Davidson", "Fowler", "Heath", "Norman",
        "Middleton", "Lee", "Banks", "French", "Thornton", "Brennan", "Jarvis", "Smith-Jones",
    ),
    "european": (
        "Nowak", "Kowalski", "Wisniewski", "Kaminski", "Lewandowski", "Zielinski",
        "Wozniak", "Szymanski", "Dabrowski", "Kozlowski", "Mazur", "Krawczyk", "Popescu",
        "Ionescu", "Popa", "Dumitru", "Stan", "Stoica", "Gheorghe", "Rusu", "Munteanu",
        "Kazlauskas", "Jankauskas", "Petrauskas", "Stankevicius", "Berzins", "Kalnins",
        "Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Rossi",
        "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Garcia", "Fernandez", "Lopez",
        "Martinez", "Gonzalez", "Muller", "Schmidt", "Novak", "Horvath", "Nagy", "Kovacs",
        "Toth", "Ivanov", "Petrov", "Dimitrov", "Georgiev", "Yilmaz", "Kaya", "Demir",
        "Sahin", "Celik", "Papadopoulos", "Nikolaidis", "Hoxha", "Shehu", "Krasniqi",
    ),
    "south_asian": (
        "Khan", "Ali", "Ahmed", "Hussain", "Begum", "Patel", "Singh", "Kaur", "Akhtar",
        "Shah", "Rahman", "Islam", "Iqbal", "Mahmood", "Bibi", "Uddin", "Miah", "Hassan",
        "Malik", "Butt", "Mohammed", "Rehman", "Sharma", "Kumar", "Mistry", "Chauhan",
        "Parmar", "Gill", "Sandhu", "Sidhu", "Dhillon", "Bains", "Chowdhury", "Hoque",
        "Karim", "Nawaz", "Aslam", "Bashir", "Qureshi", "Raja", "Javed", "Anwar", "Rashid",
        "Sheikh", "Mirza", "Desai", "Joshi", "Mehta", "Gupta", "Nair", "Pillai", "Reddy",
        "Rao", "Iyer", "Ghosh", "Das", "Sen", "Begum-Ali",
    ),
    "african": (
        "Okafor", "Okonkwo", "Adeyemi", "Adebayo", "Ogunleye", "Oluwaseun", "Okoro",
        "Eze", "Nwosu", "Obi", "Balogun", "Bello", "Ibrahim", "Mohamed", "Abdi", "Osman",
        "Hassan", "Yusuf", "Farah", "Warsame", "Mensah", "Owusu", "Boateng", "Asante",
        "Osei", "Appiah", "Agyeman", "Mwangi", "Otieno", "Kamau", "Mutasa", "Moyo",
        "Ndlovu", "Dube", "Sibanda", "Banda", "Phiri", "Tesfaye", "Bekele", "Kamara",
        "Sesay", "Conteh", "Diallo", "Traore",
    ),
    "chinese": (
        "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
        "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Cheung", "Wong", "Chan",
        "Leung", "Lam", "Ng", "Ho", "Tang", "Yip", "Lau", "Chow",
    ),
    "middle_eastern": (
        "Mohammadi", "Hosseini", "Ahmadi", "Rezaei", "Karimi", "Hashemi", "Rahimi",
        "Abdullah", "Hassan", "Hussein", "Ali", "Ibrahim", "Mahmoud", "Saleh", "Haddad",
        "Nasser", "Khalil", "Mansour", "Aziz", "Rasul", "Omar", "Salim", "Qasim", "Aziz-Khan",
        "Barzani", "Ahmadzai", "Popal", "Noori", "Sultani", "Tahir", "Yousef", "Ebrahimi",
        "Amiri", "Jaber", "Kareem",
    ),
}

FORENAMES_MALE: dict[str, tuple[str, ...]] = {
    "english": (
        "Oliver", "George", "Noah", "Arthur", "Leo", "Muhammad", "Oscar", "Harry", "Archie",
        "Jack", "Henry", "Charlie", "Freddie", "Theodore", "Thomas", "Finley", "Theo",
        "Alfie", "Jacob", "William", "Isaac", "Tommy", "Joshua", "James", "Lucas", "Teddy",
        "Edward", "Albie", "Max", "Alexander", "Reggie", "Arlo", "Elijah", "Ethan",
        "Mason", "Roman", "Jaxon", "Harrison", "Logan", "Rory", "Hugo", "Louie", "Joseph",
        "Sonny", "Jude", "Daniel", "Dylan", "Samuel", "Benjamin", "Riley", "Toby", "Ronnie",
        "Ezra", "Jesse", "Louis", "Frankie", "Harvey", "Zachary", "Bobby", "Luca", "Ollie",
        "Oakley", "Reuben", "Sebastian", "Jenson", "Felix", "Caleb", "Stanley", "Grayson",
        "Hunter", "Jayden", "Kai", "Tyler", "Aaron", "Kian", "Callum", "Connor", "Jamie",
        "Ryan", "Lewis", "Owen", "Ben", "Liam", "Nathan", "Dominic", "Ellis", "Jay",
    ),
    "european": (
        "Jakub", "Kacper", "Szymon", "Filip", "Antoni", "Jan", "Aleksander", "Franciszek",
        "Mikolaj", "Wojciech", "Andrei", "Alexandru", "Stefan", "David", "Luca", "Matei",
        "Gabriel", "Rokas", "Lukas", "Matas", "Tiago", "Rodrigo", "Francisco", "Martim",
        "Leonardo", "Lorenzo", "Mateo", "Hugo", "Daniel", "Emir", "Yusuf", "Eren", "Arda",
        "Nikola", "Marko", "Ivan", "Dominik", "Adam", "Erion", "Besart",
    ),
    "south_asian": (
        "Muhammad", "Mohammed", "Ibrahim", "Yusuf", "Ayaan", "Zayan", "Hamza", "Musa",
        "Ali", "Ahmed", "Abdullah", "Adam", "Zain", "Rayyan", "Aryan", "Arjun", "Rohan",
        "Krish", "Dev", "Vihaan", "Aarav", "Ishaan", "Reyansh", "Harjot", "Gurveer",
        "Jaskaran", "Arman", "Ismail", "Umar", "Idris", "Safwan", "Rehan", "Ayan", "Eesa",
        "Haris", "Zakariya", "Shayan", "Kabir",
    ),
    "african": (
        "David", "Daniel", "Emmanuel", "Samuel", "Joshua", "Michael", "Ayomide", "Tobi",
        "Chidi", "Chinedu", "Oluwatobi", "Tomiwa", "Kwame", "Kofi", "Kwabena", "Abdi",
        "Mohamed", "Yusuf", "Abdirahman", "Ahmed", "Tendai", "Tatenda", "Tinashe", "Jayden",
        "Elijah", "Nathaniel", "Joel", "Isaiah", "Malachi", "Zion",
    ),
    "chinese": (
        "Hao", "Jun", "Wei", "Yi", "Zhi", "Hong", "Ming", "Lei", "Tian", "Yu", "Jason",
        "Ethan", "Ryan", "Kevin", "Daniel", "Lucas", "Alex", "Ho Yin", "Chun", "Kai",
    ),
    "middle_eastern": (
        "Mohammad", "Ahmad", "Ali", "Omar", "Yousef", "Hassan", "Hussein", "Karim",
        "Mustafa", "Amir", "Reza", "Hamid", "Sina", "Aras", "Rebin", "Ahmadullah",
        "Sami", "Zaid", "Khalid", "Ibrahim", "Adam", "Yahya",
    ),
}

FORENAMES_FEMALE: dict[str, tuple[str, ...]] = {
    "english": (
        "Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily", "Florence", "Mia",
        "Willow", "Rosie", "Sophia", "Isabella", "Grace", "Daisy", "Sienna", "Poppy",
        "Elsie", "Emily", "Ella", "Evelyn", "Phoebe", "Sofia", "Evie", "Charlotte",
        "Harper", "Millie", "Matilda", "Maya", "Sophie", "Alice", "Emilia", "Isabelle",
        "Ruby", "Luna", "Maisie", "Aria", "Penelope", "Mila", "Bonnie", "Eva", "Hallie",
        "Eliza", "Ada", "Violet", "Esme", "Arabella", "Imogen", "Jessica", "Delilah",
        "Chloe", "Thea", "Lottie", "Harriet", "Scarlett", "Layla", "Ellie", "Hannah",
        "Lucy", "Molly", "Holly", "Erin", "Megan", "Jasmine", "Katie", "Zara", "Leah",
        "Georgia", "Abigail", "Lacey", "Niamh", "Ruby-Mae", "Lily-Rose", "Amber", "Rebecca",
    ),
    "european": (
        "Zuzanna", "Julia", "Maja", "Zofia", "Hanna", "Lena", "Alicja", "Oliwia", "Amelia",
        "Natalia", "Maria", "Ioana", "Elena", "Andreea", "Sofia", "Daria", "Ana", "Bianca",
        "Ieva", "Emilija", "Gabija", "Beatriz", "Leonor", "Matilde", "Carolina", "Giulia",
        "Aurora", "Chiara", "Lucia", "Martina", "Elif", "Zeynep", "Defne", "Ela", "Mia",
        "Petra", "Teodora", "Klea", "Arta", "Eva",
    ),
    "south_asian": (
        "Maryam", "Fatima", "Aisha", "Zara", "Hafsa", "Inaaya", "Safa", "Zainab", "Amira",
        "Hania", "Anaya", "Khadija", "Ayesha", "Eshal", "Aleena", "Hoorain", "Anika",
        "Diya", "Priya", "Saanvi", "Aanya", "Myra", "Kiara", "Simran", "Jasleen",
        "Harleen", "Gurleen", "Amrit", "Nimrat", "Sumaiya", "Tasnim", "Nusrat", "Ruqayyah",
        "Sana", "Laiba", "Noor", "Ananya", "Ishani",
    ),
    "african": (
        "Grace", "Blessing", "Favour", "Precious", "Esther", "Adaeze", "Chiamaka", "Amara",
        "Ifeoluwa", "Temitope", "Oluwadamilola", "Ama", "Akosua", "Abena", "Efua", "Hodan",
        "Ayan", "Hibo", "Fadumo", "Sagal", "Nyasha", "Rutendo", "Tanaka", "Chloe",
        "Abigail", "Hannah", "Elizabeth", "Deborah", "Miracle", "Zuri",
    ),
    "chinese": (
        "Xin", "Yan", "Jing", "Mei", "Ling", "Hui", "Qian", "Yun", "Xiaoyu", "Zihan",
        "Emily", "Chloe", "Grace", "Jessica", "Amy", "Hoi Yan", "Wing", "Ka Yan",
        "Tiffany", "Cindy",
    ),
    "middle_eastern": (
        "Fatemeh", "Zahra", "Maryam", "Sara", "Noor", "Leila", "Yasmin", "Layla", "Hana",
        "Rania", "Dilan", "Shilan", "Parisa", "Roya", "Nazanin", "Aya", "Huda", "Salma",
        "Amina", "Mariam", "Farah", "Lana",
    ),
}

# Parts of invented school names: stems are built as PREFIX + SUFFIX ("Oakfield", "Millbrook").
STEM_PREFIXES: tuple[str, ...] = (
    "Oak", "Ash", "Elm", "Beech", "Brook", "Church", "Mill", "Hill", "Wood", "Green",
    "Kings", "Queens", "Park", "Castle", "Bridge", "Marsh", "Holly", "Lime", "Hazel",
    "Thorn", "Willow", "Rose", "Fern", "Heath", "Moor", "Meadow", "Stone", "Bramble",
    "Birch", "Cherry", "Chestnut", "Lark", "Red", "White", "Black", "North", "South",
    "East", "West", "Long", "High", "Broad", "Well", "Spring", "Sand", "Wind", "Fair",
    "Sun", "Cold", "Hart",
)
STEM_SUFFIXES: tuple[str, ...] = (
    "field", "wood", "lands", "bridge", "brook", "hill", "side", "mead", "croft", "dale",
    "ford", "ley", "well", "gate", "hurst", "worth", "ton", "bury", "combe", "moor",
    "bank", "fields", "green", "lea", "haven", "vale", "grove", "park",
)

# Saints for church school names (possessive forms as schools spell them).
COFE_DEDICATIONS: tuple[str, ...] = (
    "St Mary's", "St John's", "St Peter's", "St Paul's", "St Andrew's", "St Michael's",
    "St George's", "St James'", "All Saints", "Holy Trinity", "Christ Church", "St Luke's",
    "St Matthew's", "St Mark's", "St Nicholas", "St Margaret's", "St Helen's",
    "St Bartholomew's", "St Lawrence", "St Stephen's", "St Thomas'", "Emmanuel",
    "St Leonard's", "St Barnabas", "St Oswald's", "St Chad's", "St Aidan's", "St Botolph's",
)
CATHOLIC_DEDICATIONS: tuple[str, ...] = (
    "St Joseph's", "St Mary's", "Sacred Heart", "Our Lady's", "St Patrick's",
    "St Anne's", "St Teresa's", "St Bernadette's", "Holy Family", "St Thomas More",
    "St John Fisher", "Holy Cross", "St Anthony's", "St Francis of Assisi", "Our Lady of Lourdes",
    "St Vincent's", "St Augustine's", "Corpus Christi", "St Edmund's", "St Wilfrid's",
    "St Catherine's", "Blessed Sacrament", "St Bede's", "St Cuthbert's",
)

PVI_PREFIXES: tuple[str, ...] = (
    "Little Acorns", "Busy Bees", "Rainbow", "Tiny Steps", "Little Explorers",
    "Kiddi Caru", "Sunshine", "Little Stars", "Jack and Jill", "Humpty Dumpty",
    "Teddy Bears", "Little Learners", "Footprints", "Treetops", "Honeypot",
    "Ladybirds", "Bright Horizons", "Little Owls", "Puddle Ducks", "Noah's Ark",
    "Acorn Tree", "Buttercups", "Happy Days", "Kinderland", "Stepping Stones",
    "Little Oaks", "Bumblebees", "Early Birds", "Wonderland", "Caterpillars",
)
PVI_SUFFIXES: tuple[str, ...] = (
    "Day Nursery", "Pre-School", "Nursery", "Playgroup", "Kindergarten",
    "Childcare", "Montessori Nursery",
)

# Postcode areas: London boroughs (LA codes 201-213, 301-320) take London areas.
LONDON_POSTCODE_AREAS: tuple[str, ...] = (
    "E", "N", "NW", "SE", "SW", "W", "BR", "CR", "DA", "EN", "HA", "IG", "KT", "RM",
    "SM", "TW", "UB",
)
OTHER_POSTCODE_AREAS: tuple[str, ...] = (
    "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BS", "CA", "CB", "CH", "CM", "CO",
    "CT", "CV", "CW", "DE", "DH", "DL", "DN", "DT", "DY", "EX", "GL", "GU", "HD", "HG",
    "HP", "HR", "HU", "HX", "IP", "L", "LA", "LE", "LN", "LS", "LU", "M", "ME", "MK",
    "NE", "NG", "NN", "NR", "OL", "OX", "PE", "PL", "PO", "PR", "RG", "RH", "S", "SG",
    "SK", "SL", "SN", "SO", "SP", "SR", "SS", "ST", "SY", "TA", "TF", "TN", "TQ", "TR",
    "TS", "WA", "WF", "WN", "WR", "WS", "WV", "YO",
)
# Letters allowed in the last two places of a postcode (the inward code).
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# fmt: on
