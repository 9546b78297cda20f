require ["vacation","date","relational"];
if allof (currentdate :value "ge" "iso8601" "2000-01-01T00:00:00Z", currentdate :value "le" "iso8601" "2099-12-31T23:59:59Z")
{
	vacation :days 1 :subject "Away" "I am away.";
}
