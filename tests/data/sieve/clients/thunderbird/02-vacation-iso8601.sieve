require ["vacation", "date", "relational"];

if allof (currentdate :value "ge" "iso8601" "2020-01-01T00:00:00Z",
          currentdate :value "le" "iso8601" "2099-12-31T23:59:59Z")
{
  vacation :days 7 :subject "Away" :addresses ["alice@example.test"] "I am on holiday.";
}
