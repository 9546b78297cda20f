"""ManageSieve (RFC 5804): users edit their own Sieve scripts over the network."""
