# RFC 5429 §2.2
require ["reject"];
if header :contains "from" "cheap-deals.example" {
    reject "I do not accept messages from this address.";
}
