"""PLN facts as plain code. Nothing here knows about AGI or flows.

* :mod:`~ivr.domain.callerid`: caller ID forms, mobile / fixed line, area codes, masking;
* :mod:`~ivr.domain.timezones`: WIB, WITA, WIT from the customer's region or area code;
* :mod:`~ivr.domain.greeting`: pagi, siang, sore, malam by local time;
* :mod:`~ivr.domain.customer_ids`: IDPEL (12 digits) or meter number (11 digits);
* :mod:`~ivr.domain.reports`: APKT report numbers, CTT tokens, grouping for speech;
* :mod:`~ivr.domain.self_diagnosis`: the nine meter codes and their keyed values;
* :mod:`~ivr.domain.periksa`: the SOP's APKT texts, WO types and notes.
"""
