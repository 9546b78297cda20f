require ["fileinto","relational","comparator-i;ascii-numeric"];
# rule:[Mass mail]
if allof (address :count "ge" :comparator "i;ascii-numeric" :all "to" "5")
{
	fileinto "Mass";
}
