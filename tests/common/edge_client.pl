#!/usr/bin/perl
# edge_client.pl - raw-socket clients for tests/common/test_http_edge.sh: what curl cannot
# do (announce a body and never send it, trickle bytes, hold connections open).
#   bigcl PORT PATH LEN          headers announcing LEN bytes, no body; prints the reply's
#                                status line and body (or CLOSED / NOREPLY after 8 s)
#   chunked PORT PATH            a chunked body whose first chunk announces 1 MiB and sends
#                                4 KiB of it; prints the reply's status line or CLOSED/NOREPLY
#   slowloris PORT N MODE STEP MAX
#                                N connections trickling one byte every STEP s: MODE
#                                "headers" (the header block never ends) or "body" (POST
#                                /api/v1/login announcing 1000 bytes); prints
#                                "closed=K open=M last=T" after all are closed or MAX s
#   cap PORT N                   opens N connections (the first sends nothing yet), then one
#                                more: prints "extra=<status line|CLOSED|OPEN>", then
#                                GET /healthz on the first: "first=<status line|CLOSED>"
# Loopback only. Timing bounds are generous on purpose: the CI machine is 2 shared cores.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);

$SIG{PIPE} = 'IGNORE';
my ($cmd, $port, @args) = @ARGV;
die "usage: $0 bigcl|chunked|slowloris|cap PORT ...\n" unless $cmd && $port;

sub conn {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
                                  Timeout => 5) or die "connect: $!\n";
    $s->autoflush(1);
    binmode $s;
    return $s;
}

# Reads what arrives within $secs: (text, closed?)
sub drain {
    my ($s, $secs) = @_;
    my $sel = IO::Select->new($s);
    my ($buf, $until) = ('', time + $secs);
    while ((my $left = $until - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($s, my $chunk, 65536);
        return ($buf, 1) if !$n;    # EOF or reset
        $buf .= $chunk;
        last if $buf =~ /\r\n\r\n/ && reply_complete($buf);
    }
    return ($buf, 0);
}

sub reply_complete {
    my ($buf) = @_;
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    return 1 unless $head =~ /^content-length:\s*(\d+)/im;
    return length($body // '') >= $1;
}

sub show {
    my ($buf, $closed) = @_;
    if ($buf eq '') { print $closed ? "CLOSED\n" : "NOREPLY\n"; return; }
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    $head =~ s/\r//g;
    print "$head\n\n", $body // '', "\n";
}

if ($cmd eq 'bigcl') {
    my ($path, $len) = @args;
    my $s = conn();
    print $s "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        . "Content-Length: $len\r\n\r\n";
    show(drain($s, 8));
} elsif ($cmd eq 'chunked') {
    my ($path) = @args;
    my $s = conn();
    print $s "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n100000\r\n" . ('x' x 4096);
    my ($buf, $closed) = drain($s, 8);
    $buf =~ s/\r\n.*//s;
    print $buf ne '' ? "$buf\n" : $closed ? "CLOSED\n" : "NOREPLY\n";
} elsif ($cmd eq 'slowloris') {
    my ($n, $mode, $step, $max) = @args;
    my $t0 = time;
    my @socks;
    for my $i (1 .. $n) {
        my $s = conn();
        if ($mode eq 'headers') {
            print $s "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-$i: ";
        } else {
            print $s "POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                . "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
        }
        push @socks, $s;
    }
    my %open = map { $_ => $socks[$_] } 0 .. $#socks;
    my $last = 0;
    while (%open && time - $t0 < $max) {
        my $sel = IO::Select->new(values %open);
        my $until = time + $step;
        while ((my $left = $until - time) > 0 && %open) {
            my @r = $sel->can_read($left) or last;
            for my $s (@r) {
                my $n = sysread($s, my $junk, 4096);
                next if $n;
                my ($k) = grep { $open{$_} == $s } keys %open;
                delete $open{$k};
                $sel->remove($s);
                close $s;
                $last = time - $t0;
            }
        }
        for my $k (keys %open) { # one more byte each: a per-read timeout never fires
            syswrite($open{$k}, $mode eq 'headers' ? 'a' : '"');
        }
    }
    printf "closed=%d open=%d last=%.1f\n", $n - scalar(keys %open), scalar(keys %open), $last;
} elsif ($cmd eq 'cap') {
    my ($n) = @args;
    my @socks = map { conn() } 1 .. $n;
    sleep 1;
    my $x = conn();
    print $x "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    my ($buf, $closed) = drain($x, 5);
    $buf =~ s/\r\n.*//s;
    print "extra=", ($buf ne '' ? $buf : $closed ? 'CLOSED' : 'OPEN'), "\n";
    my $f = $socks[0];
    print $f "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ($buf, $closed) = drain($f, 5);
    $buf =~ s/\r\n.*//s;
    print "first=", ($buf ne '' ? $buf : 'CLOSED'), "\n";
    close $_ for @socks, $x;
} else {
    die "unknown command $cmd\n";
}
