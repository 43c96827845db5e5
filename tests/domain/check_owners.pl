#!/usr/bin/perl
# tests/domain/check_owners.pl - issue 11's ownership rule, checked: no module but domain/
# writes enrolment.status or audit_log, or builds a live-session key ("sess:..."). Every
# offender is printed as file:line: what, and the exit status is 1; none, 0.
#
# It reads C as C: comments are dropped, and adjacent string literals (with the macro
# constants between them, "... status = '" DOM_ST_TO_TEST "'") are joined into one text
# before the SQL in it is parsed, so a statement spread over lines is still seen whole.
# What it cannot see is SQL assembled at run time (snprintf "%s", admin_sqlb_cat): a
# column name that arrives in a variable must be reviewed by hand.
#
#   check_owners.pl [--root DIR] [PATH...]  scan PATHs (files or folders) or, without
#       any, every module folder of DIR (a top-level folder with a CMakeLists.txt) except
#       domain/, tests/ and deploy/; DIR defaults to the repository holding this script
#   check_owners.pl --self-test [FIXTURE_DIR]  check the checker against the fixtures:
#       a line marked EXPECT must be reported, and no other line may be
#
# One exception, named where it is used: bench/ seeds and resets its own fixture rows
# (bench physicians enrolled in 待参加考核, their audit rows removed by a reset), like
# deploy/demo does in SQL. A statement there with the comment "owners-check: fixture"
# on its line or the three lines above is allowed and counted, never silently: the
# count is printed. The marker means nothing outside bench/.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Find qw(find);
use File::Spec;
use File::Temp qw(tempdir);
use Cwd qw(abs_path);

my @NOT_MODULES = qw(domain tests deploy);
our $FIXTURES   = 0;    # bench fixture statements allowed by their marker
my $SOURCE      = qr/\.(?:c|h|cpp|cc|hpp)\z/;

# ---- C: string literals joined into groups, with the line of every character ----

# Returns a list of [text, lines], one per group of adjacent literals; lines->[i] is the
# source line of text's i-th character. A macro between two literals stands as "?".
sub literal_groups {
    my ($src) = @_;
    my (@groups, $cur, $macro);
    my $line  = 1;
    my $close = sub { push @groups, $cur if $cur; $cur = undef; $macro = undef };
    pos($src) = 0;
    while (pos($src) < length $src) {
        if ($src =~ /\G(\/\*.*?\*\/)/gcs) { $line += ($1 =~ tr/\n//); next }
        if ($src =~ /\G((?:\/\/(?:[^\n\\]|\\.)*))/gcs) { $line += ($1 =~ tr/\n//); next }
        if ($src =~ /\G(\s+)/gc) { $line += ($1 =~ tr/\n//); next }
        if ($src =~ /\G(?:u8|[uUL])?"((?:[^"\\\n]|\\.)*)"/gcs) {
            my $raw = $1;
            $cur ||= ['', []];
            if ($macro) {
                $cur->[0] .= '?';
                push @{ $cur->[1] }, $macro;
                $macro = undef;
            }
            for my $ch (split //, $raw) {
                $cur->[0] .= $ch;
                push @{ $cur->[1] }, $line;
                $line++ if $ch eq "\n";
            }
            next;
        }
        if ($src =~ /\G(?:u8|[uUL])?'(?:[^'\\\n]|\\.)*'/gc) { $close->(); next }
        if ($src =~ /\G[A-Za-z_]\w*/gc) {
            # only a macro can stand between two literals; anything else ends the group
            if ($cur && !defined $macro) { $macro = $line } else { $close->() }
            next;
        }
        $src =~ /\G./gcs;
        $close->();
    }
    $close->();
    return @groups;
}

# ---- SQL ----

# Same length, same positions: escapes and quoted SQL values blanked, backticks dropped,
# so that keywords are only ever found where SQL has them.
sub sql_clean {
    my ($s) = @_;
    $s =~ s/\\([ntr])/  /g;
    $s =~ s/\\(.)/ $1/g;
    $s =~ s/('(?:[^'\\]|\\.|'')*')/"'" . ('x' x (length($1) - 2)) . "'"/ge;
    $s =~ tr/`/ /;
    return $s;
}

# Blanks what is inside parentheses (subqueries, column lists, function arguments).
sub flat {
    my ($s) = @_;
    my ($out, $depth) = ('', 0);
    for my $ch (split //, $s) {
        if    ($ch eq '(') { $depth++; $out .= '(' }
        elsif ($ch eq ')') { $depth-- if $depth; $out .= ')' }
        else               { $out .= $depth ? ' ' : $ch }
    }
    return $out;
}

my %SQL_WORD = map { $_ => 1 } qw(AS ON USING JOIN INNER LEFT RIGHT OUTER CROSS NATURAL
  STRAIGHT_JOIN SET WHERE LOW_PRIORITY IGNORE QUICK FROM ORDER LIMIT);

my $END  = qr/\bWHERE\b|\bORDER\s+BY\b|\bLIMIT\b|$/i;    # where a SET or FROM list ends
my $NAME = qr/\w+(?:\s*\.\s*\w+)*/;    # db . table, once backticks are blanked
sub bare { my ($t) = @_; $t =~ s/^.*\.\s*//; $t =~ s/\s+$//; return lc $t }

# Table references ("enrolment e JOIN exam_session s ON ..., x") -> {alias or name => table}
sub table_refs {
    my ($refs) = @_;
    my %names;
    $refs =~ s/\s*\.\s*/./g;
    my @tok = $refs =~ /([\w.*]+|,)/g;
    my $expect_table = 1;
    for (my $i = 0; $i < @tok; $i++) {
        my $t = $tok[$i];
        if ($t eq ',' || uc $t eq 'JOIN' || uc $t eq 'STRAIGHT_JOIN') { $expect_table = 1; next }
        next unless $expect_table;
        next if $SQL_WORD{ uc $t };
        my $table = bare($t);
        $names{$table} = $table;
        my $j = $i + 1;
        $j++ if $j < @tok && uc $tok[$j] eq 'AS';
        $names{ lc $tok[$j] } = $table
          if $j < @tok && $tok[$j] =~ /^\w+$/ && !$SQL_WORD{ uc $tok[$j] };
        $expect_table = 0;
    }
    return \%names;
}

# The writes of one statement (text from its verb on, cleaned): a list of [offset, what].
sub statement_writes {
    my ($st) = @_;
    my $f = flat($st);
    my @w;
    if ($f =~ /^UPDATE \s+ (?:(?:LOW_PRIORITY|IGNORE)\s+)* (.*?) \bSET\b (.*?) (?:$END)/isx) {
        my ($refs, $set, $set_at) = ($1, $2, $-[2]);
        my $names = table_refs($refs);
        my @tables = do { my %u = map { $_ => 1 } values %$names; keys %u };
        my $multi = @tables > 1;
        my $pos = $set_at;
        for my $asg (split /,/, $set) {
            if ($asg =~ /^\s*(?:(\w+)\s*\.\s*)?(\w+)\s*=/) {
                my ($q, $col) = (defined $1 ? lc $1 : undef, lc $2);
                my $table = defined $q ? $names->{$q} : ($multi ? undef : $tables[0]);
                my @cand = defined $table ? ($table) : (defined $q ? () : @tables);
                my $at = $pos + $-[2];
                if ($col eq 'status' && grep { $_ eq 'enrolment' } @cand) {
                    push @w, [$at, 'UPDATE enrolment SET status: writes enrolment.status'];
                }
                if (grep { $_ eq 'audit_log' } @cand) {
                    push @w, [$at, 'UPDATE audit_log: writes audit_log'];
                }
            }
            $pos += length($asg) + 1;
        }
    } elsif ($f =~ /^(INSERT|REPLACE) \s+ (?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*
                      (?:INTO\s+)? ($NAME)/isx) {
        my ($verb, $table) = (uc $1, bare($2));
        push @w, [0, "$verb INTO enrolment: a new enrolment row writes enrolment.status"]
          if $table eq 'enrolment';
        push @w, [0, "$verb INTO audit_log: writes audit_log"] if $table eq 'audit_log';
    } elsif ($f =~ /^DELETE \s+ (?:(?:LOW_PRIORITY|QUICK|IGNORE)\s+)* (.*?) \bFROM\s+ (.*?) (?:$END)/isx) {
        my ($targets, $refs) = ($1, $2);
        my @target;
        if ($refs =~ /^(.*?)\bUSING\b(.*)$/is) {    # DELETE FROM t1, t2 USING refs
            my ($list, $using) = ($1, $2);
            @target = map { bare($_) } $list =~ /($NAME)/g;
            $refs   = $using;
        } elsif ($targets =~ /\w/) {           # DELETE t1, t2 FROM refs
            @target = map { my $t = $_; $t =~ s/\.\*$//; lc $t } $targets =~ /([\w.*]+)/g;
        }
        my $names = table_refs($refs);
        @target = ($refs =~ /^\s*($NAME)/ ? bare($1) : ()) unless @target;
        @target = map { $names->{$_} // $_ } @target;
        push @w, [0, 'DELETE FROM enrolment: removing the row writes enrolment.status']
          if grep { $_ eq 'enrolment' } @target;
        push @w, [0, 'DELETE FROM audit_log: writes audit_log'] if grep { $_ eq 'audit_log' } @target;
    } elsif ($f =~ /^TRUNCATE\s+(?:TABLE\s+)?($NAME)/is) {
        my $table = bare($1);
        push @w, [0, 'TRUNCATE enrolment: writes enrolment.status'] if $table eq 'enrolment';
        push @w, [0, 'TRUNCATE audit_log: writes audit_log']       if $table eq 'audit_log';
    }
    return @w;
}

# ---- one file ----

sub scan_file {
    my ($path, $shown) = @_;
    open my $fh, '<:raw', $path or die "check_owners: $path: $!\n";
    my $src = do { local $/; <$fh> };
    close $fh;
    my %seen;
    my @found;
    my @src_lines = split /\n/, $src, -1;
    my $fixture = sub {    # the bench's own fixture rows, marked where they are written
        my ($line) = @_;
        return 0 unless $shown =~ m{^bench/};
        for my $l (($line > 4 ? $line - 3 : 1) .. $line) {
            return 1 if ($src_lines[$l - 1] // '') =~ /owners-check: fixture/;
        }
        return 0;
    };
    my $report = sub {
        my ($line, $what) = @_;
        return if $seen{"$line $what"}++;
        if ($fixture->($line)) { $FIXTURES++; return }
        push @found, "$shown:$line: $what outside domain/";
    };
    for my $g (literal_groups($src)) {
        my ($text, $lines) = @$g;
        while ($text =~ /sess:/g) {
            my $at = $-[0];
            (my $lit = substr($text, $at, 40)) =~ s/[\s"].*//s;
            $report->($lines->[$at], "\"$lit\": builds a live-session key");
        }
        my $sql = sql_clean($text);
        # every verb that begins a statement; FOR UPDATE and ON DUPLICATE KEY UPDATE do not
        while ($sql =~ /(?<![\w.])(UPDATE|INSERT|REPLACE|DELETE|TRUNCATE)\b/gi) {
            my $at = $-[0];
            next if substr($sql, 0, $at) =~ /\b(?:FOR|KEY)\s+\z/i;
            my $st = substr($sql, $at);
            $st =~ s/;.*//s;
            $report->($lines->[ $at + $_->[0] ], $_->[1]) for statement_writes($st);
        }
    }
    return @found;
}

sub sources_under {
    my ($dir) = @_;
    my @f;
    find({ no_chdir => 1, wanted => sub { push @f, $File::Find::name if -f && /$SOURCE/ } }, $dir);
    return sort @f;
}

# PATHs given, or every module folder of root; returns the findings.
sub scan {
    my ($root, @paths) = @_;
    unless (@paths) {
        opendir my $d, $root or die "check_owners: $root: $!\n";
        my %skip = map { $_ => 1 } @NOT_MODULES;
        @paths = map { "$root/$_" }
          sort grep { !/^\./ && !$skip{$_} && -f "$root/$_/CMakeLists.txt" } readdir $d;
        closedir $d;
        die "check_owners: no module folders under $root\n" unless @paths;
    }
    my @found;
    for my $p (@paths) {
        for my $file (-d $p ? sources_under($p) : ($p)) {
            my $shown = File::Spec->abs2rel($file, $root);
            $shown = $file if $shown =~ /^\.\./;
            push @found, scan_file($file, $shown);
        }
    }
    return @found;
}

# ---- self-test ----

sub self_test {
    my ($fixtures) = @_;
    my ($fail, $checks) = (0, 0);
    my $ok = sub {
        my ($cond, $msg) = @_;
        $checks++;
        unless ($cond) { $fail++; print "FAIL $msg\n" }
    };
    my @files = sources_under($fixtures);
    $ok->(scalar(@files), "fixtures in $fixtures");
    my $n_expected = 0;
    for my $file (@files) {
        my (%want, %got);
        open my $fh, '<', $file or die "check_owners: $file: $!\n";
        while (<$fh>) { $want{$.} = 1 if m{(?:/\*|//)\s*EXPECT\b} }
        close $fh;
        $n_expected += keys %want;
        # the program itself, as CTest runs it: its exit status and its report
        my @out = `"$^X" "$0" --root "$fixtures" "$file" 2>/dev/null`;
        chomp @out;
        my $rc = $? >> 8;
        for (@out) { $got{$1}++ if /^[^:]+:(\d+): / }
        my $name = File::Spec->abs2rel($file, $fixtures);
        $ok->($rc == (%want ? 1 : 0), "$name: exit $rc, want " . (%want ? 1 : 0));
        $ok->($got{$_}, "$name:$_: marked EXPECT, not reported") for sort { $a <=> $b } keys %want;
        for my $l (sort { $a <=> $b } keys %got) {
            $ok->($want{$l}, "$name:$l: reported, not marked EXPECT: " . join('', grep { /:$l: / } @out));
        }
        $ok->(!(grep { !m{^\Q$name\E:\d+: .* outside domain/$} } @out), "$name: report lines are file:line: what");
    }
    $ok->($n_expected >= 10, "at least 10 EXPECT lines in the fixtures (found $n_expected)");

    # which folders a whole-tree scan reads: modules yes, domain/ tests/ deploy/ no
    my $root = tempdir(CLEANUP => 1);
    my $bad  = "static const char *k = \"sess:{%s}\";\n";
    for my $d (qw(mod domain tests deploy notamodule)) {
        mkdir "$root/$d" or die "check_owners: $root/$d: $!\n";
        open my $fh, '>', "$root/$d/x.c" or die;
        print $fh $bad;
        close $fh;
        next if $d eq 'notamodule';
        open $fh, '>', "$root/$d/CMakeLists.txt" or die;
        close $fh;
    }
    my @out = `"$^X" "$0" --root "$root" 2>/dev/null`;
    my $rc  = $? >> 8;
    $ok->($rc == 1 && @out == 1 && $out[0] =~ m{^mod/x\.c:1: }, "tree scan: only mod/x.c:1, got rc $rc: @out");
    unlink "$root/mod/x.c";
    @out = `"$^X" "$0" --root "$root" 2>/dev/null`;
    $rc  = $? >> 8;
    $ok->($rc == 0 && !@out, "tree scan with no offender exits 0, got $rc: @out");

    # the fixture marker: honoured in bench/ only
    my $marked = "/* owners-check: fixture (the bench's own rows) */\n"
      . "static const char *q =\n    \"DELETE FROM audit_log WHERE id = 1\";\n";
    for my $d (qw(bench mod)) {
        mkdir "$root/$d" unless -d "$root/$d";
        open my $fh, '>', "$root/$d/CMakeLists.txt" or die;
        close $fh;
        open $fh, '>', "$root/$d/y.c" or die;
        print $fh $marked;
        close $fh;
    }
    @out = `"$^X" "$0" --root "$root" 2>/dev/null`;
    $rc  = $? >> 8;
    $ok->($rc == 1 && @out == 1 && $out[0] =~ m{^mod/y\.c:3: }, "the fixture marker counts in bench/ only, got rc $rc: @out");

    print "check_owners self-test: $checks checks, $fail failed\n";
    return $fail ? 1 : 0;
}

# ---- main ----

my $here = dirname(abs_path($0));
my $root = abs_path("$here/../..");
my @paths;
while (@ARGV) {
    my $a = shift @ARGV;
    if ($a eq '--root') { $root = abs_path(shift @ARGV // die "check_owners: --root DIR\n") }
    elsif ($a eq '--self-test') { exit self_test(abs_path(shift @ARGV // "$here/fixtures")) }
    elsif ($a =~ /^-/) { die "usage: check_owners.pl [--root DIR] [PATH...] | --self-test [DIR]\n" }
    else { push @paths, $a }
}
my @found = scan($root, @paths);
print "$_\n" for @found;
print STDERR "check_owners: $FIXTURES bench fixture statement(s) allowed by their marker\n" if $FIXTURES;
if (@found) {
    print STDERR "check_owners: " . scalar(@found)
      . " write(s) outside domain/: enrolment.status, audit_log and sess: keys belong to domain/ (issue 11)\n";
    exit 1;
}
exit 0;
