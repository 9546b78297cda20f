require ["vacation","date","relational"];
# rule:[Out of office]
if allof (currentdate :value "ge" "date" "2020-01-01", currentdate :value "le" "date" "2099-12-31")
{
	vacation :days 1 :subject "Out of office" :from "alice@example.test" :addresses ["alice@example.test"] "I am away until January. Mail is not forwarded.";
}
