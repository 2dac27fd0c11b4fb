"""Caller ID: normalise an Indonesian number, tell mobile from fixed line, mask it for logs.

SOP PERIKSA step 14 turns on the caller ID: a PSTN (fixed line) caller is asked for a
mobile number, a mobile caller whether this number can be reached. Step 15d puts the
caller ID on the APKT form. The area code of a fixed line also tells the caller's time
zone (see :mod:`ivr.domain.timezones`).

What :func:`parse_caller_id` accepts (``CALLERID(num)`` as Asterisk delivers it):

* separators anywhere: spaces, ``-``, ``.``, ``/`` and parentheses, e.g. ``(021) 555-1234``;
* national form with the trunk prefix ``0``: ``0812...``, ``021...``, ``0274...``;
* E.164 with or without ``+``: ``+62812...``, ``62812...``, ``+6221...``, ``6221...``;
  a redundant ``0`` after ``62`` (``+62 (0)21 ...``, a business-card habit) is dropped;
* an international prefix before ``62``: ``00``, the SLI prefixes ``001``, ``007``,
  ``008``, ``017`` and the operators' VoIP prefixes ``01000``, ``01016``, ``01017``. No
  Indonesian national number begins with ``00`` or ``01``, so stripping them never
  misreads an Indonesian number. The price: a foreign number can collide with an SLI
  reading (``00 1 626...``, a US number, reads as ``001 62 6...``; ``00 86 28...``, China,
  as ``008 62 8...``). A foreign caller is rare on a domestic short code, so the SLI
  reading wins; other countries' numbers (``+65...``, ``0065...``) are refused;
* national form with the ``0`` stripped by the trunk: ``812...``, ``21...``, ``274...``.

What it refuses (kind ``unknown``, ``valid`` False, ``national`` and ``area_code`` empty):

* withheld or empty caller IDs: ``""``, ``anonymous``, ``unknown``, ``private``,
  ``restricted``, ``withheld``, ... (anything with a letter in it, ``*`` or ``#``);
* too short or too long numbers, and numbers that are neither a mobile range nor a
  known area code (``0800`` toll-free, ``0809`` premium, internal extensions ``1001``).

Trunk-out digits of a PBX (``9`` or ``0`` before the real number) are **not** guessed
away: the number is read as delivered. ``9 0812...`` then reads as ``090812...``, which
has no area code, so it is unknown. ``9 021...`` reads as ``0902 1...`` (Agats, Papua);
because the rest after the ``9`` is itself a complete valid number, such a caller ID is
refused as ambiguous rather than placed in Papua. ``0 0812...`` and ``0 021...`` start
with ``00`` without ``62`` and are unknown. ``0 62...`` cannot be told from a North
Sumatra ``062x`` area code and is read as that: configure the trunk to deliver national
or E.164 numbers.

A bare ``62...`` is read as the country code first (E.164 without ``+`` is what SIP
trunks send); only if that gives no valid number is it read as a national ``062x``
number whose ``0`` the trunk stripped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

MOBILE = "mobile"
PSTN = "pstn"
UNKNOWN = "unknown"

#: Mobile numbers: ``08`` + a digit other than 0 (0800 toll-free, 0809 premium) or 4
#: (no mobile range), then 7 to 10 digits: 10 to 13 digits in all with the ``0``.
_MOBILE = re.compile(r"08[1-35-9][0-9]{7,10}")

#: Subscriber part of a fixed-line number after the area code.
SUBSCRIBER_LENGTHS = range(5, 9)

#: The only area codes with two digits after the ``0``; every other one has three.
TWO_DIGIT_AREA_CODES = frozenset({"021", "022", "024", "031", "061"})

_SEPARATORS = re.compile(r"[\s\-./()]")
_DIGITS = re.compile(r"[0-9]+")
#: International prefixes accepted before ``62``; none begins a later one, so order is safe.
INTERNATIONAL_PREFIXES = ("01000", "01016", "01017", "001", "007", "008", "017", "00")
COUNTRY_CODE = "62"


@dataclass(frozen=True)
class AreaCode:
    """One fixed-line area code: the places it serves and their province(s).

    A few codes straddle a provincial border (``0526`` Tamiang Layang in Kalimantan
    Tengah and Tanjung in Kalimantan Selatan), hence a tuple of provinces.
    """

    code: str
    places: str
    provinces: tuple[str, ...]

    @property
    def province(self) -> str:
        """The province, or several joined with `` / `` where the code straddles a border."""
        return " / ".join(self.provinces)


# Province names as the CRM and APKT spell them.
ACEH = "Aceh"
SUMUT = "Sumatera Utara"
SUMBAR = "Sumatera Barat"
RIAU = "Riau"
KEPRI = "Kepulauan Riau"
JAMBI = "Jambi"
SUMSEL = "Sumatera Selatan"
BABEL = "Kepulauan Bangka Belitung"
BENGKULU = "Bengkulu"
LAMPUNG = "Lampung"
DKI = "DKI Jakarta"
BANTEN = "Banten"
JABAR = "Jawa Barat"
JATENG = "Jawa Tengah"
DIY = "DI Yogyakarta"
JATIM = "Jawa Timur"
BALI = "Bali"
NTB = "Nusa Tenggara Barat"
NTT = "Nusa Tenggara Timur"
KALBAR = "Kalimantan Barat"
KALTENG = "Kalimantan Tengah"
KALSEL = "Kalimantan Selatan"
KALTIM = "Kalimantan Timur"
KALTARA = "Kalimantan Utara"
SULUT = "Sulawesi Utara"
GORONTALO = "Gorontalo"
SULTENG = "Sulawesi Tengah"
SULBAR = "Sulawesi Barat"
SULSEL = "Sulawesi Selatan"
SULTRA = "Sulawesi Tenggara"
MALUKU = "Maluku"
MALUT = "Maluku Utara"
PAPUA = "Papua"
PAPUA_BARAT = "Papua Barat"
PAPUA_BARAT_DAYA = "Papua Barat Daya"
PAPUA_TENGAH = "Papua Tengah"
PAPUA_PEGUNUNGAN = "Papua Pegunungan"
PAPUA_SELATAN = "Papua Selatan"

PROVINCES = (
    ACEH,
    SUMUT,
    SUMBAR,
    RIAU,
    KEPRI,
    JAMBI,
    SUMSEL,
    BABEL,
    BENGKULU,
    LAMPUNG,
    DKI,
    BANTEN,
    JABAR,
    JATENG,
    DIY,
    JATIM,
    BALI,
    NTB,
    NTT,
    KALBAR,
    KALTENG,
    KALSEL,
    KALTIM,
    KALTARA,
    SULUT,
    GORONTALO,
    SULTENG,
    SULBAR,
    SULSEL,
    SULTRA,
    MALUKU,
    MALUT,
    PAPUA,
    PAPUA_BARAT,
    PAPUA_BARAT_DAYA,
    PAPUA_TENGAH,
    PAPUA_PEGUNUNGAN,
    PAPUA_SELATAN,
)

# The fixed-line area codes of Indonesia. Codes and places follow the geocoding data of
# Google's libphonenumber (resources/geocoding/en/62.txt, Apache-2.0), which is also
# the list ITU-style validators use; the province of each place is ours, by the
# provinces of 2023 (Papua split into six). Used as a whitelist: a fixed-line caller
# ID whose area code is not here is not a valid number.
_AREA_TABLE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # Area 2: Jakarta, Banten, Jawa Barat, Jawa Tengah, DI Yogyakarta
    ("021", "Jakarta, Bogor, Depok, Tangerang, Bekasi", (DKI, JABAR, BANTEN)),
    ("022", "Bandung, Cimahi", (JABAR,)),
    ("0231", "Cirebon", (JABAR,)),
    ("0232", "Kuningan", (JABAR,)),
    ("0233", "Majalengka", (JABAR,)),
    ("0234", "Indramayu", (JABAR,)),
    ("024", "Semarang", (JATENG,)),
    ("0251", "Bogor", (JABAR,)),
    ("0252", "Rangkasbitung", (BANTEN,)),
    ("0253", "Pandeglang", (BANTEN,)),
    ("0254", "Serang, Cilegon, Merak", (BANTEN,)),
    ("0257", "Serang", (BANTEN,)),
    ("0260", "Subang", (JABAR,)),
    ("0261", "Sumedang", (JABAR,)),
    ("0262", "Garut", (JABAR,)),
    ("0263", "Cianjur", (JABAR,)),
    ("0264", "Purwakarta, Cikampek", (JABAR,)),
    ("0265", "Tasikmalaya, Banjar, Ciamis", (JABAR,)),
    ("0266", "Sukabumi", (JABAR,)),
    ("0267", "Karawang", (JABAR,)),
    ("0271", "Surakarta, Sukoharjo, Karanganyar, Sragen", (JATENG,)),
    ("0272", "Klaten", (JATENG,)),
    ("0273", "Wonogiri", (JATENG,)),
    ("0274", "Yogyakarta", (DIY,)),
    ("0275", "Purworejo", (JATENG,)),
    ("0276", "Boyolali", (JATENG,)),
    ("0280", "Cilacap Barat", (JATENG,)),
    ("0281", "Purwokerto, Banyumas, Purbalingga", (JATENG,)),
    ("0282", "Cilacap Timur", (JATENG,)),
    ("0283", "Tegal, Brebes", (JATENG,)),
    ("0284", "Pemalang", (JATENG,)),
    ("0285", "Pekalongan, Batang", (JATENG,)),
    ("0286", "Banjarnegara, Wonosobo", (JATENG,)),
    ("0287", "Kebumen", (JATENG,)),
    ("0289", "Bumiayu", (JATENG,)),
    ("0291", "Kudus, Demak, Jepara", (JATENG,)),
    ("0292", "Purwodadi", (JATENG,)),
    ("0293", "Magelang, Temanggung", (JATENG,)),
    ("0294", "Kendal", (JATENG,)),
    ("0295", "Pati, Rembang", (JATENG,)),
    ("0296", "Blora", (JATENG,)),
    ("0297", "Karimunjawa", (JATENG,)),
    ("0298", "Salatiga, Ambarawa", (JATENG,)),
    ("0299", "Nusakambangan", (JATENG,)),
    # Area 3: Jawa Timur, Bali, Nusa Tenggara
    ("031", "Surabaya, Sidoarjo, Gresik", (JATIM,)),
    ("0321", "Mojokerto, Jombang", (JATIM,)),
    ("0322", "Lamongan", (JATIM,)),
    ("0323", "Sampang", (JATIM,)),
    ("0324", "Pamekasan", (JATIM,)),
    ("0325", "Sangkapura (Bawean)", (JATIM,)),
    ("0326", "Masalembu", (JATIM,)),
    ("0327", "Kangean", (JATIM,)),
    ("0328", "Sumenep", (JATIM,)),
    ("0331", "Jember", (JATIM,)),
    ("0332", "Bondowoso", (JATIM,)),
    ("0333", "Banyuwangi", (JATIM,)),
    ("0334", "Lumajang", (JATIM,)),
    ("0335", "Probolinggo", (JATIM,)),
    ("0336", "Jember", (JATIM,)),
    ("0338", "Situbondo", (JATIM,)),
    ("0341", "Malang, Batu", (JATIM,)),
    ("0342", "Blitar", (JATIM,)),
    ("0343", "Pasuruan", (JATIM,)),
    ("0351", "Madiun, Magetan, Ngawi", (JATIM,)),
    ("0352", "Ponorogo", (JATIM,)),
    ("0353", "Bojonegoro", (JATIM,)),
    ("0354", "Kediri", (JATIM,)),
    ("0355", "Tulungagung, Trenggalek", (JATIM,)),
    ("0356", "Tuban, Rembang", (JATIM, JATENG)),
    ("0357", "Pacitan", (JATIM,)),
    ("0358", "Nganjuk", (JATIM,)),
    ("0361", "Denpasar, Badung, Gianyar", (BALI,)),
    ("0362", "Singaraja", (BALI,)),
    ("0363", "Amlapura", (BALI,)),
    ("0365", "Negara, Gilimanuk", (BALI,)),
    ("0366", "Klungkung, Bangli", (BALI,)),
    ("0368", "Tabanan (Baturiti)", (BALI,)),
    ("0370", "Mataram, Praya", (NTB,)),
    ("0371", "Sumbawa Besar", (NTB,)),
    ("0372", "Alas, Taliwang", (NTB,)),
    ("0373", "Dompu", (NTB,)),
    ("0374", "Bima", (NTB,)),
    ("0376", "Selong", (NTB,)),
    ("0380", "Kupang", (NTT,)),
    ("0381", "Ende", (NTT,)),
    ("0382", "Maumere", (NTT,)),
    ("0383", "Larantuka", (NTT,)),
    ("0384", "Bajawa", (NTT,)),
    ("0385", "Labuan Bajo, Ruteng", (NTT,)),
    ("0386", "Kalabahi", (NTT,)),
    ("0387", "Waingapu, Waikabubak", (NTT,)),
    ("0388", "Kefamenanu, Soe", (NTT,)),
    ("0389", "Atambua", (NTT,)),
    # Area 4: Sulawesi
    ("0401", "Kendari", (SULTRA,)),
    ("0402", "Baubau", (SULTRA,)),
    ("0403", "Raha", (SULTRA,)),
    ("0404", "Wanci", (SULTRA,)),
    ("0405", "Kolaka", (SULTRA,)),
    ("0408", "Unaaha", (SULTRA,)),
    ("0410", "Pangkajene (Pangkep)", (SULSEL,)),
    ("0411", "Makassar, Maros, Sungguminasa", (SULSEL,)),
    ("0413", "Bulukumba, Bantaeng", (SULSEL,)),
    ("0414", "Kepulauan Selayar", (SULSEL,)),
    ("0417", "Malino", (SULSEL,)),
    ("0418", "Takalar", (SULSEL,)),
    ("0419", "Jeneponto", (SULSEL,)),
    ("0420", "Enrekang", (SULSEL,)),
    ("0421", "Parepare, Pinrang", (SULSEL,)),
    ("0422", "Majene", (SULBAR,)),
    ("0423", "Makale, Rantepao", (SULSEL,)),
    ("0426", "Mamuju", (SULBAR,)),
    ("0427", "Barru", (SULSEL,)),
    ("0428", "Polewali", (SULBAR,)),
    ("0430", "Amurang", (SULUT,)),
    ("0431", "Manado, Tomohon, Tondano", (SULUT,)),
    ("0432", "Tahuna", (SULUT,)),
    ("0434", "Kotamobagu", (SULUT,)),
    ("0435", "Gorontalo", (GORONTALO,)),
    ("0438", "Bitung", (SULUT,)),
    ("0443", "Marisa", (GORONTALO,)),
    ("0445", "Buol", (SULTENG,)),
    ("0450", "Parigi", (SULTENG,)),
    ("0451", "Palu", (SULTENG,)),
    ("0452", "Poso", (SULTENG,)),
    ("0453", "Tolitoli", (SULTENG,)),
    ("0454", "Tinombo", (SULTENG,)),
    ("0455", "Kotaraya, Moutong", (SULTENG,)),
    ("0457", "Donggala", (SULTENG,)),
    ("0458", "Tentena", (SULTENG,)),
    ("0461", "Luwuk", (SULTENG,)),
    ("0462", "Banggai", (SULTENG,)),
    ("0463", "Bunta", (SULTENG,)),
    ("0464", "Ampana", (SULTENG,)),
    ("0465", "Kolonodale", (SULTENG,)),
    ("0471", "Palopo", (SULSEL,)),
    ("0472", "Pitumpanua", (SULSEL,)),
    ("0473", "Masamba", (SULSEL,)),
    ("0474", "Malili", (SULSEL,)),
    ("0475", "Soroako", (SULSEL,)),
    ("0481", "Watampone", (SULSEL,)),
    ("0482", "Sinjai", (SULSEL,)),
    ("0484", "Watansoppeng", (SULSEL,)),
    ("0485", "Sengkang", (SULSEL,)),
    # Area 5: Kalimantan
    ("0511", "Banjarmasin, Banjarbaru, Martapura", (KALSEL,)),
    ("0512", "Pelaihari", (KALSEL,)),
    ("0513", "Muara Teweh", (KALTENG,)),
    ("0517", "Kandangan, Barabai, Rantau, Negara", (KALSEL,)),
    ("0518", "Kotabaru, Batulicin", (KALSEL,)),
    ("0522", "Ampah", (KALTENG,)),
    ("0525", "Buntok", (KALTENG,)),
    ("0526", "Tamiang Layang, Tanjung", (KALTENG, KALSEL)),
    ("0527", "Amuntai", (KALSEL,)),
    ("0528", "Puruk Cahu", (KALTENG,)),
    ("0531", "Sampit", (KALTENG,)),
    ("0532", "Pangkalan Bun", (KALTENG,)),
    ("0534", "Ketapang", (KALBAR,)),
    ("0536", "Palangka Raya, Kasongan", (KALTENG,)),
    ("0537", "Kuala Kurun", (KALTENG,)),
    ("0538", "Kuala Pembuang", (KALTENG,)),
    ("0539", "Kuala Kuayan", (KALTENG,)),
    ("0541", "Samarinda, Tenggarong", (KALTIM,)),
    ("0542", "Balikpapan", (KALTIM,)),
    ("0543", "Tanah Grogot", (KALTIM,)),
    ("0545", "Melak", (KALTIM,)),
    ("0548", "Bontang", (KALTIM,)),
    ("0549", "Sangatta", (KALTIM,)),
    ("0551", "Tarakan", (KALTARA,)),
    ("0552", "Tanjung Selor", (KALTARA,)),
    ("0553", "Malinau", (KALTARA,)),
    ("0554", "Tanjung Redeb", (KALTIM,)),
    ("0556", "Nunukan", (KALTARA,)),
    ("0561", "Pontianak, Mempawah", (KALBAR,)),
    ("0562", "Singkawang, Sambas, Bengkayang", (KALBAR,)),
    ("0563", "Ngabang", (KALBAR,)),
    ("0564", "Sanggau", (KALBAR,)),
    ("0565", "Sintang", (KALBAR,)),
    ("0567", "Putussibau", (KALBAR,)),
    ("0568", "Nanga Pinoh", (KALBAR,)),
    # Area 6: Sumatera Utara, Aceh
    ("061", "Medan, Binjai, Deli Serdang", (SUMUT,)),
    ("0620", "Pangkalan Brandan", (SUMUT,)),
    ("0621", "Tebing Tinggi, Sei Rampah", (SUMUT,)),
    ("0622", "Pematangsiantar", (SUMUT,)),
    ("0623", "Kisaran, Tanjung Balai", (SUMUT,)),
    ("0624", "Rantau Prapat, Labuhanbatu", (SUMUT,)),
    ("0625", "Parapat", (SUMUT,)),
    ("0626", "Pangururan", (SUMUT,)),
    ("0627", "Sidikalang, Salak, Subulussalam", (SUMUT, ACEH)),
    ("0628", "Kabanjahe", (SUMUT,)),
    ("0629", "Kutacane", (ACEH,)),
    ("0630", "Teluk Dalam", (SUMUT,)),
    ("0631", "Sibolga, Pandan", (SUMUT,)),
    ("0632", "Balige", (SUMUT,)),
    ("0633", "Tarutung, Dolok Sanggul", (SUMUT,)),
    ("0634", "Padang Sidempuan", (SUMUT,)),
    ("0635", "Gunung Tua", (SUMUT,)),
    ("0636", "Panyabungan", (SUMUT,)),
    ("0639", "Gunung Sitoli", (SUMUT,)),
    ("0641", "Langsa", (ACEH,)),
    ("0642", "Blang Kejeren", (ACEH,)),
    ("0643", "Takengon", (ACEH,)),
    ("0644", "Bireuen", (ACEH,)),
    ("0645", "Lhokseumawe", (ACEH,)),
    ("0646", "Idi", (ACEH,)),
    ("0650", "Sinabang", (ACEH,)),
    ("0651", "Banda Aceh", (ACEH,)),
    ("0652", "Sabang", (ACEH,)),
    ("0653", "Sigli", (ACEH,)),
    ("0654", "Calang", (ACEH,)),
    ("0655", "Meulaboh", (ACEH,)),
    ("0656", "Tapaktuan", (ACEH,)),
    ("0657", "Bakongan", (ACEH,)),
    ("0658", "Singkil", (ACEH,)),
    ("0659", "Blangpidie", (ACEH,)),
    # Area 7: southern and central Sumatra, Riau islands, Bangka Belitung
    ("0702", "Tebing Tinggi (Empat Lawang)", (SUMSEL,)),
    ("0711", "Palembang", (SUMSEL,)),
    ("0712", "Kayu Agung", (SUMSEL,)),
    ("0713", "Prabumulih", (SUMSEL,)),
    ("0714", "Sekayu", (SUMSEL,)),
    ("0715", "Belinyu", (BABEL,)),
    ("0716", "Muntok", (BABEL,)),
    ("0717", "Pangkal Pinang, Sungailiat", (BABEL,)),
    ("0718", "Koba, Toboali", (BABEL,)),
    ("0719", "Tanjung Pandan, Manggar", (BABEL,)),
    ("0721", "Bandar Lampung", (LAMPUNG,)),
    ("0722", "Tanggamus", (LAMPUNG,)),
    ("0723", "Blambangan Umpu", (LAMPUNG,)),
    ("0724", "Kotabumi", (LAMPUNG,)),
    ("0725", "Metro", (LAMPUNG,)),
    ("0726", "Menggala", (LAMPUNG,)),
    ("0727", "Kalianda", (LAMPUNG,)),
    ("0728", "Liwa", (LAMPUNG,)),
    ("0729", "Pringsewu", (LAMPUNG,)),
    ("0730", "Pagar Alam, Kota Agung", (SUMSEL, LAMPUNG)),
    ("0731", "Lahat", (SUMSEL,)),
    ("0732", "Curup", (BENGKULU,)),
    ("0733", "Lubuklinggau", (SUMSEL,)),
    ("0734", "Muara Enim", (SUMSEL,)),
    ("0735", "Baturaja", (SUMSEL,)),
    ("0736", "Bengkulu", (BENGKULU,)),
    ("0737", "Arga Makmur, Mukomuko", (BENGKULU,)),
    ("0738", "Muara Aman", (BENGKULU,)),
    ("0739", "Manna, Bintuhan", (BENGKULU,)),
    ("0740", "Muara Sabak", (JAMBI,)),
    ("0741", "Jambi", (JAMBI,)),
    ("0742", "Kuala Tungkal", (JAMBI,)),
    ("0743", "Muara Bulian", (JAMBI,)),
    ("0744", "Muara Tebo", (JAMBI,)),
    ("0745", "Sarolangun", (JAMBI,)),
    ("0746", "Bangko", (JAMBI,)),
    ("0747", "Muara Bungo", (JAMBI,)),
    ("0748", "Sungai Penuh, Kerinci", (JAMBI,)),
    ("0751", "Padang, Pariaman", (SUMBAR,)),
    ("0752", "Bukittinggi, Padang Panjang, Payakumbuh", (SUMBAR,)),
    ("0753", "Lubuk Sikaping", (SUMBAR,)),
    ("0754", "Sijunjung", (SUMBAR,)),
    ("0755", "Solok", (SUMBAR,)),
    ("0756", "Painan", (SUMBAR,)),
    ("0757", "Balai Selasa", (SUMBAR,)),
    ("0760", "Teluk Kuantan", (RIAU,)),
    ("0761", "Pekanbaru", (RIAU,)),
    ("0762", "Bangkinang, Pasir Pengaraian", (RIAU,)),
    ("0763", "Selatpanjang", (RIAU,)),
    ("0764", "Siak Sri Indrapura", (RIAU,)),
    ("0765", "Dumai, Duri", (RIAU,)),
    ("0766", "Bengkalis", (RIAU,)),
    ("0767", "Bagansiapiapi", (RIAU,)),
    ("0768", "Tembilahan", (RIAU,)),
    ("0769", "Rengat, Air Molek", (RIAU,)),
    ("0771", "Tanjung Pinang", (KEPRI,)),
    ("0772", "Tarempa", (KEPRI,)),
    ("0773", "Ranai", (KEPRI,)),
    ("0776", "Dabo Singkep", (KEPRI,)),
    ("0777", "Tanjung Balai Karimun", (KEPRI,)),
    ("0778", "Batam", (KEPRI,)),
    ("0779", "Tanjung Batu", (KEPRI,)),
    # Area 9: Maluku, Maluku Utara, Papua
    ("0901", "Timika", (PAPUA_TENGAH,)),
    ("0902", "Agats", (PAPUA_SELATAN,)),
    ("0910", "Bandanaira", (MALUKU,)),
    ("0911", "Ambon", (MALUKU,)),
    ("0913", "Namlea", (MALUKU,)),
    ("0914", "Masohi", (MALUKU,)),
    ("0915", "Bula", (MALUKU,)),
    ("0916", "Tual", (MALUKU,)),
    ("0917", "Dobo", (MALUKU,)),
    ("0918", "Saumlaki", (MALUKU,)),
    ("0921", "Ternate, Sofifi, Soasio", (MALUT,)),
    ("0922", "Jailolo", (MALUT,)),
    ("0923", "Morotai", (MALUT,)),
    ("0924", "Tobelo", (MALUT,)),
    ("0927", "Labuha", (MALUT,)),
    ("0929", "Sanana", (MALUT,)),
    ("0931", "Saparua", (MALUKU,)),
    ("0951", "Sorong", (PAPUA_BARAT_DAYA,)),
    ("0952", "Teminabuan", (PAPUA_BARAT_DAYA,)),
    ("0955", "Bintuni", (PAPUA_BARAT,)),
    ("0956", "Fakfak", (PAPUA_BARAT,)),
    ("0957", "Kaimana", (PAPUA_BARAT,)),
    ("0966", "Sarmi", (PAPUA,)),
    ("0967", "Jayapura", (PAPUA,)),
    ("0969", "Wamena", (PAPUA_PEGUNUNGAN,)),
    ("0971", "Merauke", (PAPUA_SELATAN,)),
    ("0975", "Tanah Merah", (PAPUA_SELATAN,)),
    ("0980", "Ransiki", (PAPUA_BARAT,)),
    ("0981", "Biak", (PAPUA,)),
    ("0983", "Serui", (PAPUA,)),
    ("0984", "Nabire", (PAPUA_TENGAH,)),
    ("0985", "Nabire", (PAPUA_TENGAH,)),
    ("0986", "Manokwari", (PAPUA_BARAT,)),
)

AREA_CODES: Mapping[str, AreaCode] = MappingProxyType(
    {code: AreaCode(code, places, provinces) for code, places, provinces in _AREA_TABLE}
)


@dataclass(frozen=True)
class CallerId:
    """A caller ID as delivered and as understood.

    ``national`` is the 0-prefixed national number (``081234567890``, ``0215551234``)
    and ``area_code`` the fixed line's area code with its ``0`` (``021``, ``0274``);
    both are empty unless ``valid``. ``raw`` is kept as delivered, for the APKT form
    (SOP step 15d: the number as the CRM shows it).
    """

    raw: str
    national: str
    kind: str
    area_code: str
    valid: bool

    def __repr__(self) -> str:
        # Caller IDs are personal data: a repr that lands in a log or a traceback
        # shows only the last three digits, like :func:`mask`.
        raw = mask(self.raw) if any(c.isdigit() for c in self.raw) else self.raw
        return (
            f"CallerId(raw={raw!r}, national={mask(self.national)!r}, "
            f"kind={self.kind!r}, area_code={self.area_code!r}, valid={self.valid!r})"
        )

    @property
    def area(self) -> AreaCode | None:
        """The area code's entry (places, province) for a fixed line, else None."""
        return AREA_CODES.get(self.area_code)

    @property
    def international(self) -> str:
        """E.164 form ``+62...`` (e.g. for WhatsApp), or "" when not valid."""
        return "+" + COUNTRY_CODE + self.national[1:] if self.valid else ""


def _unknown(raw: str) -> CallerId:
    return CallerId(raw=raw, national="", kind=UNKNOWN, area_code="", valid=False)


def area_code_of(number: str) -> str:
    """The area code (with its ``0``) at the start of a 0-prefixed national number.

    Only ``021``, ``022``, ``024``, ``031`` and ``061`` have two digits after the ``0``;
    every other code has three. Returns "" when the number cannot start a fixed line
    (not ``0``-prefixed, mobile ``08``, or too short) or its code is not in
    :data:`AREA_CODES`.
    """
    if len(number) < 4 or not number.startswith("0") or number.startswith(("00", "01", "08")):
        return ""
    code = number[:3] if number[:3] in TWO_DIGIT_AREA_CODES else number[:4]
    return code if code in AREA_CODES else ""


def _classify(national: str) -> tuple[str, str]:
    """``(kind, area_code)`` of a 0-prefixed national number; ``(UNKNOWN, "")`` if invalid."""
    if not _DIGITS.fullmatch(national) or not national.startswith("0"):
        return UNKNOWN, ""
    if national.startswith("08"):
        return (MOBILE, "") if _MOBILE.fullmatch(national) else (UNKNOWN, "")
    code = area_code_of(national)
    if code and len(national) - len(code) in SUBSCRIBER_LENGTHS:
        return PSTN, code
    return UNKNOWN, ""


def _after_country_code(rest: str) -> str:
    """The national form of what follows ``62``; a redundant ``0`` there is dropped."""
    return rest if rest.startswith("0") else "0" + rest


def _readings(digits: str, plus: bool) -> list[str]:
    """Candidate national forms of the delivered digits, most likely first."""
    if plus:
        return [_after_country_code(digits[2:])] if digits.startswith(COUNTRY_CODE) else []
    if digits.startswith(("00", "01")):
        for prefix in INTERNATIONAL_PREFIXES:
            if digits.startswith(prefix + COUNTRY_CODE):
                return [_after_country_code(digits[len(prefix) + 2 :])]
        return []  # another country, or no Indonesian number at all
    if digits.startswith("0"):
        return [digits]
    if digits.startswith(COUNTRY_CODE):
        # E.164 without "+" first; else a North Sumatra 062x number without its 0.
        return [_after_country_code(digits[2:]), "0" + digits]
    return ["0" + digits]


@lru_cache(maxsize=4096)
def parse_caller_id(raw: str | None) -> CallerId:
    """Understand a caller ID in any form Asterisk may deliver (see the module docstring).

    Never raises: anything that is not a valid Indonesian mobile or fixed-line number
    gives ``kind`` ``unknown`` and ``valid`` False.
    """
    raw = raw or ""
    text = raw.strip()
    plus = text.startswith("+")
    digits = _SEPARATORS.sub("", text[1:] if plus else text)
    if not _DIGITS.fullmatch(digits):
        return _unknown(raw)
    if not plus and digits.startswith("90") and _classify(digits[1:])[0] != UNKNOWN:
        # A PBX trunk-out "9" before a full national number: do not guess (see above).
        return _unknown(raw)
    for national in _readings(digits, plus):
        kind, area_code = _classify(national)
        if kind != UNKNOWN:
            return CallerId(raw=raw, national=national, kind=kind, area_code=area_code, valid=True)
    return _unknown(raw)


def national(number: str) -> str:
    """``+62812...``, ``62812...``, ``812...`` and ``0812...`` as ``0812...``; "" if not valid."""
    return parse_caller_id(number).national


def caller_class(number: str) -> str:
    """``mobile``, ``pstn`` (fixed line) or ``unknown`` (withheld, foreign, malformed)."""
    return parse_caller_id(number).kind


#: Identifiers that are no one's personal data and must stay readable in a log: our
#: call ids (32 hex characters, or a dashed UUID) and Asterisk's uniqueid
#: (``1733412345.42``: a 10-digit epoch, a dot, a sequence), by which a failed call is
#: found in Asterisk's CDR.
READABLE_ID = (
    r"(?<![0-9A-Za-z])(?:[0-9a-f]{32}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})"
    r"(?![0-9A-Za-z])"
    r"|(?<![\d.])1\d{9}\.\d{1,9}(?![\d.])"
)
_READABLE_ID = re.compile(READABLE_ID)


def mask(number: str) -> str:
    """A phone number or ID for the log: only its last three digits show. A call id or
    an Asterisk uniqueid (:data:`READABLE_ID`) is returned as it is."""
    if number and _READABLE_ID.fullmatch(number):
        return number
    digits = re.sub(r"\D", "", number or "")
    if len(digits) <= 3:
        return "*" * len(digits)
    return "*" * (len(digits) - 3) + digits[-3:]
