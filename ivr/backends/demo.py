"""Demo data for the embedded backends (``pln123 demo seed``).

:func:`seed` upserts the rows below into the IVR's SQLite file, so running it again
puts the demo back as described (report statuses included) and touches nothing else.
Every identity here is fictional: the names are common Indonesian names, the numbers
are patterned (``0812-3456-7890``, ``021-555-1234``) and belong to no one.

Customers (prepaid but Dewi Lestari's shop, so each has an 11-digit meter number besides
its 12-digit IDPEL):

============  ===========  =================  ===============================  ==============  ====================  ==================  =======  ========================================  =============
IDPEL         Meter        Name               Street                           Area            Unit                  Posko               Tariff   Region                                    Time zone
============  ===========  =================  ===============================  ==============  ====================  ==================  =======  ========================================  =============
532112345678  14212345678  Budi Santoso       Jl. Melati No. 12                Kebayoran Baru  UP3 Bulungan          ULP Kebayoran Baru  R1 1300  UID Jakarta Raya                          Asia/Jakarta
532110987654  14210987654  Rina Wulandari     Jl. Kenanga No. 7                Pasar Minggu    UP3 Lenteng Agung     ULP Pasar Minggu    R1 2200  UID Jakarta Raya                          Asia/Jakarta
532100246810  14200246810  Siti Aminah        Jl. Cempaka Putih Tengah No. 21  Cempaka Putih   UP3 Cempaka Putih     ULP Cempaka Putih   R1M 900  UID Jakarta Raya                          Asia/Jakarta
537200135790  45000135790  Agus Setiawan      Jl. Dago No. 45                  Coblong         UP3 Bandung           ULP Bandung Utara   R1 2200  UID Jawa Barat                            Asia/Jakarta
514400112233  32114400112  Sri Rahayu         Jl. Rungkut Asri No. 9           Rungkut         UP3 Surabaya Selatan  ULP Rungkut         R2 3500  UID Jawa Timur                            Asia/Jakarta
552100445566  56010044556  I Made Sudarma     Jl. Raya Kuta No. 88             Kuta            UP3 Bali Selatan      ULP Kuta            R1 1300  UID Bali                                  Asia/Makassar
722300778899  56078899001  Andi Nurhayati     Jl. A.P. Pettarani No. 15        Panakkukang     UP3 Makassar Selatan  ULP Panakkukang     R1 2200  UID Sulawesi Selatan, Tenggara dan Barat  Asia/Makassar
911100334455  14234455667  Yohanes Wenda      Jl. Raya Abepura No. 3           Abepura         UP3 Jayapura          ULP Abepura         R1M 900  UID Papua dan Papua Barat                 Asia/Jayapura
912200556677  14256677889  Maria Latuconsina  Jl. Sultan Hairun No. 5          Sirimau         UP3 Ambon             ULP Ambon Kota      R2 5500  UIW Maluku dan Maluku Utara               Asia/Jayapura
532300998877  (postpaid)   Dewi Lestari       Jl. RS Fatmawati No. 30          Cilandak        UP3 Bulungan          ULP Cilandak        B1 3500  UID Jakarta Raya                          Asia/Jakarta
============  ===========  =================  ===============================  ==============  ====================  ==================  =======  ========================================  =============

AP2T (``ap2t_accounts``; any other customer owes nothing, gets no notice, and a change
to three phase needs only a service line of up to 30 m, so 5 days):

============  ==========  =====================================================  =======
IDPEL         Arrears     Notice (the request cannot be taken at PLN 123)        Network
============  ==========  =====================================================  =======
537200135790  Rp 245.500                                                         sr
514400112233              the customer must apply at the unit (P2TL in progress)  sr
532300998877                                                                     jtr
============  ==========  =====================================================  =======

CRM callers (any other number, e.g. ``087800001111``, is unknown to the CRM; Agus
Setiawan, Sri Rahayu and Maria Latuconsina have no CRM entry):

============  =================  ==========  =============  ==============================================
Phone         Name               Salutation  Past contacts  Notes
============  =================  ==========  =============  ==============================================
081234567890  Budi Santoso       Bapak       3              mobile, WIB; one finished report
0215551234    Siti Aminah        Ibu         1              PSTN Jakarta (021), WIB
081298765432  Rina Wulandari     Ibu         2              mobile, WIB; one OPEN report (reported before)
03615550123   I Made Sudarma     Bapak       1              PSTN Denpasar (0361), WITA
082190001234  Andi Nurhayati     Ibu         2              mobile, WITA; open report mutated from K
081344556677  Yohanes Wenda      Bapak       0              mobile, WIT; one report, CTT with a visit
081355557777  Dewi Lestari       Ibu         0              mobile, WIB; a postpaid shop (tambah daya)
============  =================  ==========  =============  ==============================================

Reports (``reports`` table; open means a status other than SELESAI, BATAL, NYALA):

==============  =======  ===============  ============  ============  ==========================================
Number          Status   WO type          IDPEL         Caller        Problem
==============  =======  ===============  ============  ============  ==========================================
G2503100000123  LAPOR    WO Autodispatch  532110987654  081298765432  1 RUMAH PADAM (DISPLAY PADA APP TERTERA
                                                                      PERIKSA, PELANGGAN TIDAK BERSEDIA DIPANDU)
G2502200000045  SELESAI  KWH PERIKSA      532112345678  081234567890  DISPLAY PADA APP TERTERA PERIKSA (SELF
                                                                      DIAGNOSIS), nine values in ``fields``
K2502030000007  BATAL    (keluhan)        722300778899  082190001234  DISPLAY APP TERTERA PERIKSA; mutated to
                                                                      the G99 report below (SOP of 16 Apr 2021)
G9925020300011  LAPOR    WO Autodispatch  722300778899  082190001234  MUTASI K : K2502030000007 : DISPLAY APP
                                                                      TERTERA PERIKSA
G2504200000031  CTT *    KWH PERIKSA      911100334455  081344556677  SUDAH TERBIT CTT DENGAN DIDATANGI
                                                                      PETUGAS; detail "Dalam Perjalanan"
G2504200000032  CTT *    KWH PERIKSA      552100445566  03615550123   SUDAH TERBIT CTT DIBERIKAN KE
                                                                      PELANGGAN; token 40450111960272700379
==============  =======  ===============  ============  ============  ==========================================

So the "reported before" path finds G2503100000123 for Rina Wulandari by her phone
(``081298765432``, ``+6281298765432``, ``6281298765432``), her IDPEL or the report
number; Budi Santoso's finished report is not found; Andi Nurhayati's open report is
found by her phone, her IDPEL, ``G9925020300011`` or the old keluhan number
``K2502030000007``. Every other customer has no report.

ITSM tickets (``itsm_tickets``, no notes; finished means Resolved or Closed; the embedded
ITSM numbers new tickets from 800001 up, so any other number is unknown):

======  ========  ============  ==========================================================
Number  Status    Caller        Summary
======  ========  ============  ==========================================================
733905  Active    081234567890  Pelanggan tidak dapat login (Budi Santoso): reported again,
                                it gets a note and no new ticket
748975  Resolved  0215551234    Pembayaran token melalui GoPay belum masuk ke riwayat
                                transaksi (Siti Aminah): reported again, a new ticket
                                citing it
======  ========  ============  ==========================================================
"""  # noqa: E501

from __future__ import annotations

from dataclasses import asdict

from ivr.backends.ap2t import upsert_account
from ivr.backends.embedded import (
    FINISHED_STATUSES,
    upsert_caller,
    upsert_customer,
    upsert_report,
)
from ivr.backends.itsm import seed_demo_tickets
from ivr.backends.ports import (
    BackendError,
    CallerInfo,
    Customer,
    Report,
    ReportRequest,
)
from ivr.backends.sqlite_base import immediate, open_database
from ivr.domain.periksa import WO_AUTODISPATCH, WO_KWH_PERIKSA
from ivr.store.dbapi import DatabaseError, Location

JAKARTA, MAKASSAR, JAYAPURA = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"


def _customer(
    idpel: str,
    meter: str,
    name: str,
    street: str,
    area: str,
    unit: str,
    posko: str,
    tariff: str,
    power_va: int,
    region: str,
    tz: str,
) -> Customer:
    return Customer(idpel, meter, name, street, area, unit, posko, tariff, power_va, region, tz)


CUSTOMERS: list[Customer] = [
    _customer("532112345678", "14212345678", "Budi Santoso", "Jl. Melati No. 12",
              "Kebayoran Baru", "UP3 Bulungan", "ULP Kebayoran Baru", "R1", 1300,
              "UID Jakarta Raya", JAKARTA),
    _customer("532110987654", "14210987654", "Rina Wulandari", "Jl. Kenanga No. 7",
              "Pasar Minggu", "UP3 Lenteng Agung", "ULP Pasar Minggu", "R1", 2200,
              "UID Jakarta Raya", JAKARTA),
    _customer("532100246810", "14200246810", "Siti Aminah", "Jl. Cempaka Putih Tengah No. 21",
              "Cempaka Putih", "UP3 Cempaka Putih", "ULP Cempaka Putih", "R1M", 900,
              "UID Jakarta Raya", JAKARTA),
    _customer("537200135790", "45000135790", "Agus Setiawan", "Jl. Dago No. 45",
              "Coblong", "UP3 Bandung", "ULP Bandung Utara", "R1", 2200,
              "UID Jawa Barat", JAKARTA),
    _customer("514400112233", "32114400112", "Sri Rahayu", "Jl. Rungkut Asri No. 9",
              "Rungkut", "UP3 Surabaya Selatan", "ULP Rungkut", "R2", 3500,
              "UID Jawa Timur", JAKARTA),
    _customer("552100445566", "56010044556", "I Made Sudarma", "Jl. Raya Kuta No. 88",
              "Kuta", "UP3 Bali Selatan", "ULP Kuta", "R1", 1300,
              "UID Bali", MAKASSAR),
    _customer("722300778899", "56078899001", "Andi Nurhayati", "Jl. A.P. Pettarani No. 15",
              "Panakkukang", "UP3 Makassar Selatan", "ULP Panakkukang", "R1", 2200,
              "UID Sulawesi Selatan, Tenggara dan Barat", MAKASSAR),
    _customer("911100334455", "14234455667", "Yohanes Wenda", "Jl. Raya Abepura No. 3",
              "Abepura", "UP3 Jayapura", "ULP Abepura", "R1M", 900,
              "UID Papua dan Papua Barat", JAYAPURA),
    _customer("912200556677", "14256677889", "Maria Latuconsina", "Jl. Sultan Hairun No. 5",
              "Sirimau", "UP3 Ambon", "ULP Ambon Kota", "R2", 5500,
              "UIW Maluku dan Maluku Utara", JAYAPURA),
    _customer("532300998877", "", "Dewi Lestari", "Jl. RS Fatmawati No. 30",
              "Cilandak", "UP3 Bulungan", "ULP Cilandak", "B1", 3500,
              "UID Jakarta Raya", JAKARTA),
]  # fmt: skip

#: What AP2T says of some customers: (IDPEL, arrears, notice, network work).
AP2T_ACCOUNTS: list[tuple[str, int, str, str]] = [
    ("537200135790", 245500, "", "sr"),
    ("514400112233", 0, "Pelanggan sedang dalam pemeriksaan P2TL; permohonan perubahan daya"
     " diajukan di unit layanan pelanggan.", "sr"),
    ("532300998877", 0, "", "jtr"),
]  # fmt: skip

CALLERS: list[CallerInfo] = [
    CallerInfo("081234567890", "Budi Santoso", "Bapak", 3),
    CallerInfo("0215551234", "Siti Aminah", "Ibu", 1),
    CallerInfo("081298765432", "Rina Wulandari", "Ibu", 2),
    CallerInfo("03615550123", "I Made Sudarma", "Bapak", 1),
    CallerInfo("082190001234", "Andi Nurhayati", "Ibu", 2),
    CallerInfo("081344556677", "Yohanes Wenda", "Bapak", 0),
    CallerInfo("081355557777", "Dewi Lestari", "Ibu", 0),
]

#: The open report of the "reported before" demo (Rina Wulandari).
OPEN_REPORT = "G2503100000123"
#: Budi Santoso's finished report.
FINISHED_REPORT = "G2502200000045"
#: Andi Nurhayati's keluhan, cancelled when it was mutated into a gangguan report.
MUTATED_KELUHAN = "K2502030000007"
#: The gangguan report the keluhan became (open).
MUTATION_REPORT = "G9925020300011"
#: Yohanes Wenda's report: a CTT with an officer's visit, the officer on the way.
CTT_VISIT_REPORT = "G2504200000031"
#: I Made Sudarma's report: a CTT token given to the customer to key in.
CTT_TOKEN_REPORT = "G2504200000032"
CTT_TOKEN = "40450111960272700379"
STATUS_CTT_VISIT = "SUDAH TERBIT CTT DENGAN DIDATANGI PETUGAS"
STATUS_CTT_TOKEN = "SUDAH TERBIT CTT DIBERIKAN KE PELANGGAN"

_NOT_WILLING = "1 RUMAH PADAM (DISPLAY PADA APP TERTERA PERIKSA, PELANGGAN TIDAK BERSEDIA DIPANDU)"


def _reports() -> list[tuple[Report, ReportRequest, str, str]]:
    """(report, its form fields, mobile number, keluhan it was mutated from)."""
    rina = ReportRequest(
        reporter_name="Rina Wulandari",
        caller_number="081298765432",
        address="Jl. Kenanga No. 7, Pasar Minggu",
        wo_type=WO_AUTODISPATCH,
        problem_text=_NOT_WILLING,
        idpel="532110987654",
        mobile_number="081298765432",
        location="Jl. Kenanga No. 7, Pasar Minggu",
        unit="UP3 Lenteng Agung",
        posko="ULP Pasar Minggu",
        confirmation_at="17:00",
        contact_note="Pelanggan dapat dihubungi via Telepon, WA & SMS",
    )
    budi = ReportRequest(
        reporter_name="Budi Santoso",
        caller_number="081234567890",
        address="Jl. Melati No. 12, Kebayoran Baru",
        wo_type=WO_KWH_PERIKSA,
        problem_text="DISPLAY PADA APP TERTERA PERIKSA (SELF DIAGNOSIS)",
        idpel="532112345678",
        mobile_number="081234567890",
        location="Jl. Melati No. 12, Kebayoran Baru",
        unit="UP3 Bulungan",
        posko="ULP Kebayoran Baru",
        contact_note="Pelanggan dapat dihubungi via Telepon & SMS",
        self_diagnosis={
            "08": "1",
            "70": "2",
            "71": "0",
            "41": "221,5",
            "44": "0,35",
            "45": "0,35",
            "46": "0,36",
            "37": "48,27",
            "47": "Null",
        },
    )
    andi_k = ReportRequest(
        reporter_name="Andi Nurhayati",
        caller_number="082190001234",
        address="Jl. A.P. Pettarani No. 15, Panakkukang",
        wo_type="",
        problem_text="DISPLAY APP TERTERA PERIKSA",
        idpel="722300778899",
        mobile_number="082190001234",
        unit="UP3 Makassar Selatan",
        posko="ULP Panakkukang",
    )
    andi_g = ReportRequest(
        reporter_name="Andi Nurhayati",
        caller_number="082190001234",
        address="Jl. A.P. Pettarani No. 15, Panakkukang",
        wo_type=WO_AUTODISPATCH,
        problem_text=f"MUTASI K : {MUTATED_KELUHAN} : DISPLAY APP TERTERA PERIKSA",
        idpel="722300778899",
        mobile_number="082190001234",
        location="Jl. A.P. Pettarani No. 15, Panakkukang",
        unit="UP3 Makassar Selatan",
        posko="ULP Panakkukang",
        contact_note="Pelanggan dapat dihubungi via WA & SMS",
    )

    yohanes = ReportRequest(
        reporter_name="Yohanes Wenda",
        caller_number="081344556677",
        address="Jl. Raya Abepura No. 3, Abepura",
        wo_type=WO_KWH_PERIKSA,
        problem_text="KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)",
        idpel="911100334455",
        mobile_number="081344556677",
        location="Jl. Raya Abepura No. 3, Abepura",
        unit="UP3 Jayapura",
        posko="ULP Abepura",
    )
    made = ReportRequest(
        reporter_name="I Made Sudarma",
        caller_number="03615550123",
        address="Jl. Raya Kuta No. 88, Kuta",
        wo_type=WO_KWH_PERIKSA,
        problem_text="KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)",
        idpel="552100445566",
        location="Jl. Raya Kuta No. 88, Kuta",
        unit="UP3 Bali Selatan",
        posko="ULP Kuta",
    )

    def report(
        number: str,
        status: str,
        created_at: str,
        request: ReportRequest,
        ctt_token: str = "",
        detail_status: str = "",
    ) -> Report:
        return Report(
            number=number,
            status=status,
            wo_type=request.wo_type,
            problem_text=request.problem_text,
            idpel=request.idpel,
            caller_number=request.caller_number,
            created_at=created_at,
            ctt_token=ctt_token,
            detail_status=detail_status,
        )

    return [
        (report(OPEN_REPORT, "LAPOR", "2025-03-10T02:15:00.000+00:00", rina), rina,
         rina.mobile_number, ""),
        (report(FINISHED_REPORT, "SELESAI", "2025-02-20T07:40:00.000+00:00", budi), budi,
         budi.mobile_number, ""),
        (report(MUTATED_KELUHAN, "BATAL", "2025-02-03T01:05:00.000+00:00", andi_k), andi_k,
         andi_k.mobile_number, ""),
        (report(MUTATION_REPORT, "LAPOR", "2025-02-03T03:30:00.000+00:00", andi_g), andi_g,
         andi_g.mobile_number, MUTATED_KELUHAN),
        (report(CTT_VISIT_REPORT, STATUS_CTT_VISIT, "2025-04-20T08:22:08.000+00:00", yohanes,
                detail_status="Dalam Perjalanan"), yohanes, yohanes.mobile_number, ""),
        (report(CTT_TOKEN_REPORT, STATUS_CTT_TOKEN, "2025-04-20T12:07:22.000+00:00", made,
                ctt_token=CTT_TOKEN), made, "", ""),
    ]  # fmt: skip


def seed(path: Location) -> str:
    """Upsert the demo data into the store at ``path``; returns a summary line."""
    conn = open_database(path)
    reports = _reports()
    try:
        with immediate(conn):
            for customer in CUSTOMERS:
                upsert_customer(conn, customer)
            for caller in CALLERS:
                upsert_caller(conn, caller)
            for idpel, arrears, refusal, network in AP2T_ACCOUNTS:
                upsert_account(
                    conn, idpel, arrears_rp=arrears, refusal=refusal, network_work=network
                )
            for report, request, mobile, mutated_from in reports:
                upsert_report(
                    conn, report, asdict(request), mobile_number=mobile, mutated_from=mutated_from
                )
            tickets = seed_demo_tickets(conn)
    except DatabaseError as exc:
        raise BackendError(f"demo seed {path}: {type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    open_count = sum(1 for report, *_ in reports if report.status not in FINISHED_STATUSES)
    return (
        f"demo data in {path}: {len(CUSTOMERS)} customers, {len(CALLERS)} CRM callers,"
        f" {len(reports)} reports ({open_count} open), {tickets} ITSM tickets"
    )
