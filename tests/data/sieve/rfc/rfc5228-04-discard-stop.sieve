# RFC 5228 §3.3, §4.4
if header :contains "subject" "won" { discard; stop; }
if header :contains "subject" "lunch" { keep; }
