require ["fileinto", "reject", "imap4flags"];
# Thunderbird sieve add-on style
if allof (header :contains "X-Spam-Flag" "YES", header :value "ge" :comparator "i;ascii-numeric" "X-Spam-Score" "5")
{
  fileinto "Junk";
  stop;
}
if header :is "Auto-Submitted" "auto-replied" { setflag "\\Seen"; keep; }
