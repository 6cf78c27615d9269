! Our own converter for nanomc's test data: binary aenet .nn -> the ASCII layout that aenet-PyTorch
! writes and its nnASCII2bin / mainline aenet's load_NNPot_ASCII read (one item per line,
! arrays on one line, full precision); and back with list-directed reads (--to-binary).
program nnbin2ascii
  implicit none
  character(len=1024) :: infile, outfile, mode
  integer :: nlayers, nnodesmax, Wsize, nvalues, nenv, nsf, nsfparam, neval, ntypes, natomtot, nstrucs
  integer, allocatable :: nnodes(:), fun(:), iw(:), iv(:), sf(:), sfenv(:,:)
  double precision, allocatable :: W(:), sfparam(:,:), smin(:), smax(:), savg(:), scov(:), E_atom(:)
  character(len=1024) :: description, filename
  character(len=100) :: sftype
  character(len=2) :: atomtype
  character(len=2), allocatable :: envtypes(:), type_names(:)
  double precision :: rc_min, rc_max, scale, shift, E_min, E_max, E_avg
  logical :: normalized, tobin
  integer :: i
  character(len=*), parameter :: ifmt = '(*(I17,1x))', dfmt = '(*(ES26.17E3,1x))'
  call get_command_argument(1, mode)
  call get_command_argument(2, infile)
  call get_command_argument(3, outfile)
  tobin = trim(mode) == '--to-binary'
  if (tobin) then
    open(1, file=trim(infile), status='old', action='read')
    read(1,*) nlayers; read(1,*) nnodesmax; read(1,*) Wsize; read(1,*) nvalues
    allocate(nnodes(nlayers), fun(nlayers-1), iw(nlayers), iv(nlayers), W(Wsize))
    read(1,*) nnodes; read(1,*) fun; read(1,*) iw; read(1,*) iv; read(1,*) W
    read(1,*) description; read(1,*) atomtype; read(1,*) nenv
    allocate(envtypes(nenv)); read(1,*) envtypes
    read(1,*) rc_min; read(1,*) rc_max; read(1,*) sftype; read(1,*) nsf; read(1,*) nsfparam
    allocate(sf(nsf), sfparam(nsfparam,nsf), sfenv(2,nsf), smin(nsf), smax(nsf), savg(nsf), scov(nsf))
    read(1,*) sf; read(1,*) sfparam; read(1,*) sfenv; read(1,*) neval
    read(1,*) smin; read(1,*) smax; read(1,*) savg; read(1,*) scov
    read(1,*) filename; read(1,*) normalized; read(1,*) scale; read(1,*) shift; read(1,*) ntypes
    allocate(type_names(ntypes), E_atom(ntypes))
    read(1,*) type_names; read(1,*) E_atom; read(1,*) natomtot; read(1,*) nstrucs
    read(1,*) E_min, E_max, E_avg
    close(1)
    open(2, file=trim(outfile), status='replace', action='write', form='unformatted')
    write(2) nlayers; write(2) nnodesmax; write(2) Wsize; write(2) nvalues
    write(2) nnodes; write(2) fun; write(2) iw; write(2) iv; write(2) W
    write(2) description; write(2) atomtype; write(2) nenv; write(2) envtypes
    write(2) rc_min; write(2) rc_max; write(2) sftype; write(2) nsf; write(2) nsfparam
    write(2) sf; write(2) sfparam; write(2) sfenv; write(2) neval
    write(2) smin; write(2) smax; write(2) savg; write(2) scov
    write(2) filename; write(2) normalized; write(2) scale; write(2) shift; write(2) ntypes
    write(2) type_names; write(2) E_atom; write(2) natomtot; write(2) nstrucs
    write(2) E_min, E_max, E_avg
    close(2)
  else
    open(1, file=trim(infile), status='old', action='read', form='unformatted')
    read(1) nlayers; read(1) nnodesmax; read(1) Wsize; read(1) nvalues
    allocate(nnodes(nlayers), fun(nlayers-1), iw(nlayers), iv(nlayers), W(Wsize))
    read(1) nnodes; read(1) fun; read(1) iw; read(1) iv; read(1) W
    read(1) description; read(1) atomtype; read(1) nenv
    allocate(envtypes(nenv)); read(1) envtypes
    read(1) rc_min; read(1) rc_max; read(1) sftype; read(1) nsf; read(1) nsfparam
    allocate(sf(nsf), sfparam(nsfparam,nsf), sfenv(2,nsf), smin(nsf), smax(nsf), savg(nsf), scov(nsf))
    read(1) sf; read(1) sfparam; read(1) sfenv; read(1) neval
    read(1) smin; read(1) smax; read(1) savg; read(1) scov
    read(1) filename; read(1) normalized; read(1) scale; read(1) shift; read(1) ntypes
    allocate(type_names(ntypes), E_atom(ntypes))
    read(1) type_names; read(1) E_atom; read(1) natomtot; read(1) nstrucs
    read(1) E_min, E_max, E_avg
    close(1)
    open(2, file=trim(outfile), status='replace', action='write')
    write(2,ifmt) nlayers; write(2,ifmt) nnodesmax; write(2,ifmt) Wsize; write(2,ifmt) nvalues
    write(2,ifmt) nnodes; write(2,ifmt) fun; write(2,ifmt) iw; write(2,ifmt) iv; write(2,dfmt) W
    write(2,'(A)') trim(description); write(2,'(A)') trim(atomtype); write(2,ifmt) nenv
    write(2,'(*(A,1x))') (trim(envtypes(i)), i=1,nenv)
    write(2,dfmt) rc_min; write(2,dfmt) rc_max; write(2,'(A)') trim(sftype); write(2,ifmt) nsf; write(2,ifmt) nsfparam
    write(2,ifmt) sf; write(2,dfmt) sfparam; write(2,ifmt) sfenv; write(2,ifmt) neval
    write(2,dfmt) smin; write(2,dfmt) smax; write(2,dfmt) savg; write(2,dfmt) scov
    write(2,'(A)') trim(filename); write(2,'(L1)') normalized; write(2,dfmt) scale; write(2,dfmt) shift
    write(2,ifmt) ntypes
    write(2,'(*(A,1x))') (trim(type_names(i)), i=1,ntypes)
    write(2,dfmt) E_atom; write(2,ifmt) natomtot; write(2,ifmt) nstrucs
    write(2,dfmt) E_min, E_max, E_avg
    close(2)
  end if
end program nnbin2ascii
