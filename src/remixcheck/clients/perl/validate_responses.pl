#!/usr/bin/env perl
# Validate recorded Video bodies the way a client generated from OpenAI's document sees them.
#
# OpenAPI::Client::OpenAI is OpenAPI::Client->new(<OpenAI's openapi.yaml>): the client class is
# generated from the document and its validator is JSON::Validator's OpenAPIv3 schema, with the
# coercions OpenAPI::Client turns on. This script builds that same client from the document
# given, then checks each body with the client's own validator (validate_response), for the
# operation that returned it. No request is ever sent.
#
# stdin:  {"document": PATH, "bodies": [{"operation": ID, "body": JSON}, ...]}
# stdout: {"library": TEXT, "results": [[{"path", "message", "text", "details"}, ...], ...]}
#         (one list per body, judged against the documented 200 response of its operation)
#         or {"unavailable": TEXT} when OpenAPI::Client or JSON::Validator is not installed.
use strict;
use warnings;

binmode STDOUT;

my $loaded = eval {
  require Mojo::JSON;
  require JSON::Validator;
  require OpenAPI::Client;
  1;
};
if (!$loaded) {
  my $why = $@ || 'unknown error';
  $why =~ s/\s+\(\@INC[^)]*\)//;    # the include path list says nothing useful and is long
  $why =~ s/\s+at \S+ line \d+\.?\s*$//s;
  print qq({"unavailable":"perl modules missing: ) . _escape($why) . qq("}\n);
  exit 0;
}

my $input  = Mojo::JSON::decode_json(do { local $/; <STDIN> });
my $client = OpenAPI::Client->new($input->{document});
my $schema = $client->validator;

my %route;
for my $r ($schema->routes->each) {
  $route{$r->{operation_id}} = [$r->{method}, $r->{path}] if $r->{operation_id};
}

my @results;
for my $item (@{$input->{bodies}}) {
  # Every body is a Video (what any 2xx of these operations carries): one the document does
  # not route is judged as retrieve's, against the same VideoResource.
  my $op   = $route{$item->{operation} // ''} // $route{GetVideo};
  my $body = $item->{body};
  my @errors = eval {
    $schema->validate_response([@$op, 200], {body => sub { {exists => 1, value => $body} }});
  };
  if (my $crash = $@) {
    push @results, [{path => '', message => "$crash", text => "$crash", details => []}];
    next;
  }
  push @results, [
    map {
      {
        path    => $_->path,
        message => $_->message,
        text    => "$_",
        details => [map { defined $_ ? "$_" : '' } @{$_->details || []}],
      }
    } @errors
  ];
}

print Mojo::JSON::encode_json({
  library => "OpenAPI::Client $OpenAPI::Client::VERSION, JSON::Validator $JSON::Validator::VERSION",
  results => \@results,
});
print "\n";

sub _escape {
  my $s = shift;
  $s =~ s/(["\\])/\\$1/g;
  $s =~ s/\n/ /g;
  $s =~ s/([\x00-\x1f])/sprintf('\\u%04x', ord $1)/ge;
  return $s;
}
